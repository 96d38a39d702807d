"""Every acknowledged change sticks: changes to one schedule at the same instant.

Each change (PATCH, pause, resume, bulk) is computed from a read and written only if the
schedule is still at the revision read (AwsService._apply): locally in one SQLite
write transaction, on AWS by the schedule index's conditional transaction. So two PATCHes
naming one ETag give one 200 and one 412, and a PATCH and a pause at once both land.

moto runs a DynamoDB transaction's condition checks and writes without a lock, so on moto
two transactions at once can both pass their checks, which DynamoDB never allows. The
`aws` racer makes moto's transactions atomic, as the real service's are; nothing of ours
is changed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from moto.dynamodb.models import DynamoDBBackend

from scheduler_api.domain.errors import RevisionConflictError
from scheduler_api.domain.ports import SchedulerBackend
from scheduler_api.main import create_app
from tests.conftest import (
    AUTH,
    GROUP,
    Api,
    FakeClock,
    indexed_aws_app,
    make_local_settings,
    task_body,
)
from tests.support.processes import ROOT, base_env, free_port, running

Request = Callable[[], httpx.Response]


@dataclass
class Racer:
    """Sends requests to one app, many at once."""

    send: Callable[..., httpx.Response]

    def at_once(self, requests: list[Request]) -> list[httpx.Response]:
        """Every request released by one barrier, so they reach the server together."""
        barrier = threading.Barrier(len(requests))

        def go(request: Request) -> httpx.Response:
            barrier.wait()
            return request()

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(go, requests))

    def schedule(self, task_id: str, **body: Any) -> str:
        response = self.send(
            "POST", "/scheduler/schedule", json=task_body(task_id, cron="0 9 * * ? *") | body
        )
        assert response.status_code == 200, response.text
        arn: str = response.json()["schedule_arn"]
        return arn

    def get(self, arn: str) -> httpx.Response:
        response = self.send("GET", f"/scheduler/schedule/{arn}")
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
def atomic_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    original = DynamoDBBackend.transact_write_items

    def atomic(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", atomic)


def _racer(client: TestClient) -> Racer:
    return Racer(lambda method, url, **kw: client.request(method, url, **kw))


@pytest.fixture(params=["local", "aws"])
def racer(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Racer]:
    """The app on a real SQLite file, or on AWS (moto) with the schedule index."""
    if request.param == "local":
        app = create_app(make_local_settings(tmp_path / "s.db"), clock=clock, start_engine=False)
        with TestClient(app, headers=AUTH) as client:
            yield _racer(client)
        return
    request.getfixturevalue("atomic_moto_transactions")
    with indexed_aws_app(clock) as api:
        yield _racer(api.client)


def _patch(racer: Racer, arn: str, body: dict[str, Any], etag: str | None = None) -> Request:
    headers = {"If-Match": etag} if etag else {}
    return lambda: racer.send("PATCH", f"/scheduler/schedule/{arn}", json=body, headers=headers)


def _post(racer: Racer, path: str, **kwargs: Any) -> Request:
    return lambda: racer.send("POST", path, **kwargs)


def _exactly_one_patch_per_etag(racer: Racer, trials: int, writers: int) -> None:
    for trial in range(trials):
        arn = racer.schedule(f"etag-race-{trial}")
        etag = racer.get(arn).headers["ETag"]
        crons = [f"{minute} 9 * * ? *" for minute in range(1, writers + 1)]
        answers = racer.at_once([_patch(racer, arn, {"cron": cron}, etag) for cron in crons])
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] + [412] * (writers - 1), (trial, codes)
        (won,) = (n for n, answer in enumerate(answers) if answer.status_code == 200)
        stored = racer.get(arn)
        assert stored.json()["schedule_expression"] == f"cron({crons[won]})"
        assert stored.headers["ETag"] == answers[won].headers["ETag"]


def test_of_patches_naming_one_etag_exactly_one_is_made(racer: Racer) -> None:
    _exactly_one_patch_per_etag(racer, trials=8, writers=8)


def test_a_patch_and_a_pause_at_once_both_land(racer: Racer) -> None:
    """A lost pause would say DISABLED and keep firing: both changes must be stored."""
    for trial in range(12):
        arn = racer.schedule(f"pause-race-{trial}")
        patched, paused = racer.at_once(
            [
                _patch(racer, arn, {"cron": "30 7 * * ? *"}),
                _post(racer, f"/scheduler/schedule/{arn}/pause"),
            ]
        )
        assert (patched.status_code, paused.status_code) == (200, 200), trial
        assert paused.json()["state"] == "DISABLED"
        stored = racer.get(arn).json()
        assert (stored["state"], stored["schedule_expression"]) == (
            "DISABLED",
            "cron(30 7 * * ? *)",
        ), trial


def test_a_resume_and_a_patch_at_once_both_land(racer: Racer) -> None:
    for trial in range(12):
        arn = racer.schedule(f"resume-race-{trial}")
        assert racer.send("POST", f"/scheduler/schedule/{arn}/pause").status_code == 200
        resumed, patched = racer.at_once(
            [
                _post(racer, f"/scheduler/schedule/{arn}/resume"),
                _patch(racer, arn, {"data": {"trial": trial}}),
            ]
        )
        assert (resumed.status_code, patched.status_code) == (200, 200), trial
        stored = racer.get(arn).json()
        assert stored["state"] == "ENABLED", trial
        assert stored["task"]["data"] == {"trial": trial}, trial


def test_a_bulk_pause_beside_edits_loses_neither(racer: Racer) -> None:
    """The edits go through the schedules in the bulk job's order, so the two meet."""
    arns = [racer.schedule(f"bulk-race-{n}", labels={"team": "a"}) for n in range(30)]

    def edit_all() -> httpx.Response:
        for arn in arns:
            answer = racer.send("PATCH", f"/scheduler/schedule/{arn}", json={"data": {"v": 2}})
            assert answer.status_code == 200, answer.text
        return answer

    bulk, _ = racer.at_once(
        [
            _post(
                racer,
                "/scheduler/schedules/bulk",
                json={"operation": "pause", "filter": {"labels": {"team": "a"}}},
            ),
            edit_all,
        ]
    )
    assert bulk.status_code == 200, bulk.text
    assert (bulk.json()["changed"], bulk.json()["failed"]) == (30, 0)
    for arn in arns:
        stored = racer.get(arn).json()
        assert (stored["state"], stored["task"]["data"]) == ("DISABLED", {"v": 2})


def test_two_processes_on_one_file_make_exactly_one_patch_per_etag(tmp_path: Path) -> None:
    """make run WORKERS=2: the two processes' writes meet in SQLite's transaction."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**base_env(), "SCHEDULER_BACKEND": "local", "LOCAL_DB_PATH": str(tmp_path / "s.db")}
    args = [sys.executable, str(ROOT / "scripts" / "serve.py")]
    args += ["--port", str(port), "--workers", "2"]
    with (
        running(args, f"{url}/health", env, tmp_path),
        httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=16)) as http,
    ):
        _exactly_one_patch_per_etag(Racer(http.request), trials=6, writers=8)


# The backends' own guarantee, one writer after another (api: local and AWS without the
# index, finder's AWS params: with it).


def _conflict_is_seen(backend: SchedulerBackend, name: str) -> None:
    read = backend.get_schedule(GROUP, name)
    assert read.revision is not None
    backend.update_schedule(replace(read.spec, state="DISABLED"))  # someone else's change
    with pytest.raises(RevisionConflictError):
        backend.update_schedule(read.spec, expect_revision=read.revision)
    assert backend.get_schedule(GROUP, name).spec.state == "DISABLED"  # theirs stands
    fresh = backend.get_schedule(GROUP, name)
    backend.update_schedule(replace(fresh.spec, state="ENABLED"), expect_revision=fresh.revision)
    assert backend.get_schedule(GROUP, name).spec.state == "ENABLED"


def test_a_write_from_a_stale_read_is_refused_by_every_backend(api: Api) -> None:
    arn = api.client.post("/scheduler/schedule", json=task_body("stale", cron="0 9 * * ? *"))
    _conflict_is_seen(api.backend, arn.json()["schedule_arn"].rsplit("/", 1)[1])


def test_a_write_from_a_stale_read_is_refused_with_the_index(clock: FakeClock) -> None:
    with indexed_aws_app(clock) as api:
        arn = api.client.post("/scheduler/schedule", json=task_body("stale", cron="0 9 * * ? *"))
        _conflict_is_seen(api.backend, arn.json()["schedule_arn"].rsplit("/", 1)[1])


def _a_recreated_schedule_is_not_the_version_read(backend: SchedulerBackend, name: str) -> None:
    """A change computed from a schedule that was deleted and made again under its name
    (same task_id) would overwrite the new one, its POST's 200 a lie: the revision must
    tell the two apart (locally the rev counter starts again at 0 on each create)."""
    read = backend.get_schedule(GROUP, name)
    assert read.revision is not None
    backend.delete_schedule(GROUP, name)
    backend.create_schedule(replace(read.spec, expression="cron(0 7 * * ? *)"))  # the new one
    with pytest.raises(RevisionConflictError):
        backend.update_schedule(replace(read.spec, state="DISABLED"), expect_revision=read.revision)
    stored = backend.get_schedule(GROUP, name).spec
    assert (stored.expression, stored.state) == ("cron(0 7 * * ? *)", "ENABLED")


def test_a_write_read_before_a_delete_and_recreate_is_refused(api: Api) -> None:
    arn = api.client.post("/scheduler/schedule", json=task_body("again", cron="0 9 * * ? *"))
    _a_recreated_schedule_is_not_the_version_read(
        api.backend, arn.json()["schedule_arn"].rsplit("/", 1)[1]
    )


def test_a_write_read_before_a_delete_and_recreate_is_refused_with_the_index(
    clock: FakeClock,
) -> None:
    with indexed_aws_app(clock) as api:
        arn = api.client.post("/scheduler/schedule", json=task_body("again", cron="0 9 * * ? *"))
        _a_recreated_schedule_is_not_the_version_read(
            api.backend, arn.json()["schedule_arn"].rsplit("/", 1)[1]
        )
