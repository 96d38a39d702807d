"""An app a test built is freed when the test ends (tests/support/heap.py): FastAPI's
module-level caches held every endpoint closure, and so every app, to the session's end."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from scheduler_api.main import create_app
from tests.conftest import AUTH, make_local_settings
from tests.support.heap import release_framework_caches


def served_app(db: Path) -> weakref.ref[object]:
    """An app that answered a request (which fills FastAPI's caches), and only a weak
    reference to it."""
    app = create_app(make_local_settings(db), start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        assert client.get("/scheduler/schedules").status_code == 200
    return weakref.ref(app)


def test_fastapi_caches_keep_a_finished_app_alive_until_released(tmp_path: Path) -> None:
    app = served_app(tmp_path / "s.db")
    gc.collect()
    assert app() is not None  # what every test left behind
    release_framework_caches()
    gc.collect()
    assert app() is None
