"""README.md's "Inside your own FastAPI app" block, run as written: the host app it
defines, in a fresh directory, serves the scheduler under /jobs behind its own key only
(not our bearer tokens), and stops the engine when its lifespan ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import API_TOKEN, task_body
from tests.support.processes import ROOT
from tests.support.walkthrough import fenced_blocks

SECTION = "## Inside your own FastAPI app"


def readme_block() -> str:
    markdown = (ROOT / "README.md").read_text()
    start = markdown.index(f"\n{SECTION}\n")
    end = markdown.find("\n## ", start + 1)
    blocks = [code for language, code in fenced_blocks(markdown[start:end]) if language == "python"]
    assert len(blocks) == 1
    return blocks[0]


def test_the_readme_host_app_guards_the_scheduler_with_its_own_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # its var/jobs.db is relative, as a user's would be
    namespace: dict[str, Any] = {"__name__": "readme_host"}
    exec(compile(readme_block(), "README.md", "exec"), namespace)
    app: FastAPI = namespace["app"]
    with TestClient(app) as client:
        ours = {"Authorization": f"Bearer {API_TOKEN}"}
        assert client.post("/jobs/schedule", json=task_body("t"), headers=ours).status_code == 401
        key = {"X-API-Key": "let-me-in"}
        created = client.post("/jobs/schedule", json=task_body("t"), headers=key)
        assert created.status_code == 200, created.text
        listed = client.get("/jobs/schedules", headers=key).json()["schedules"]
        assert [s["task_id"] for s in listed] == ["t"]
        assert "/scheduler/schedule" not in app.openapi()["paths"]
        assert "/jobs/schedule" in app.openapi()["paths"]
        engine = namespace["scheduler"].runtime.engine
        assert engine is not None
        assert engine.health().running
    assert (tmp_path / "var" / "jobs.db").exists()
    assert not engine.health().running  # the lifespan's exit stopped its loop
