"""Each run-now is its own execution (issue 18, item 4), on both backends, and the local
engine signs what it delivers so nothing of a delivery can be changed (item 9).

The action counts its own runs: a merged execution shows as SUCCEEDED twice but runs once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from lambda_worker.app import Worker, get_worker
from lambda_worker.app import app as worker_app
from lambda_worker.config import WorkerConfig
from lambda_worker.handler import lambda_handler
from lambda_worker.ledger.base import Ledger
from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from scheduler_api.backends.local.store.database import Database
from scheduler_api.main import create_app
from task_contract import ProxyEvent
from tests.conftest import (
    AUTH,
    GROUP,
    REGION,
    FakeClock,
    LocalApp,
    counting_action,
    create_table,
    make_function,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support import probe_handler
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.support.probe_handler import events_for

SECRET = "run-identity-secret-1"


@pytest.fixture
def ran() -> Iterator[list[str]]:
    """Each time the action really runs, counted from inside it."""
    with counting_action("identity_probe") as calls:
        yield calls
    worker_app.dependency_overrides.clear()


def use_worker(ledger: Ledger, clock: FakeClock, secret: str | None = None) -> None:
    """The worker the engine (or the test) invokes: a ledger, and the test's clock."""
    config = WorkerConfig(callback_secret=secret)
    worker_app.dependency_overrides[get_worker] = lambda: Worker(
        config, ledger, clock=lambda: clock().timestamp()
    )


def sqlite_ledger(tmp_path: Path, clock: FakeClock) -> Ledger:
    store = SQLiteLedgerStore(tmp_path / "ledger.db")
    return Ledger(store, in_progress_timeout=900, ttl_seconds=60, clock=lambda: clock().timestamp())


def dynamodb_ledger(clock: FakeClock) -> Ledger:
    """The ledger as deployed: a DynamoDB table (inside mock_aws)."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_table(dynamodb, "task-ledger")
    store = DynamoDBLedgerStore("task-ledger", dynamodb)
    return Ledger(store, in_progress_timeout=900, ttl_seconds=60, clock=lambda: clock().timestamp())


def probe_task(task_id: str, **timing: Any) -> dict[str, Any]:
    return {**task_body(task_id, **timing), "action": "identity_probe"}


@pytest.mark.parametrize("apart", [0.0, 0.4])  # one instant; one second, two instants
def test_two_run_nows_in_one_second_each_run_once_as_their_own_execution(
    local_app: LocalApp, tmp_path: Path, ran: list[str], apart: float
) -> None:
    use_worker(sqlite_ledger(tmp_path, local_app.clock), local_app.clock)
    client = local_app.client
    created = client.post("/scheduler/schedule", json=probe_task("twice", cron="0 9 * * ? *"))
    arn = created.json()["schedule_arn"]
    first = client.post(f"/scheduler/schedule/{arn}/run")
    local_app.clock.advance(timedelta(seconds=apart))
    second = client.post(f"/scheduler/schedule/{arn}/run")
    assert (first.status_code, second.status_code) == (202, 202)
    ids = {first.json()["execution_id"], second.json()["execution_id"]}
    assert len(ids) == 2
    assert local_app.engine.tick() == 2
    assert ran == ["twice", "twice"]
    runs = local_app.runs("twice")
    assert {run["execution_id"] for run in runs} == ids
    assert [(run["status"], run["trigger"]) for run in runs] == [("SUCCEEDED", "manual")] * 2


def test_a_run_now_in_the_second_of_a_cron_fire_both_run(
    local_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    use_worker(sqlite_ledger(tmp_path, local_app.clock), local_app.clock)
    client = local_app.client
    arn = client.post("/scheduler/schedule", json=probe_task("beside", cron="* * * * ? *")).json()[
        "schedule_arn"
    ]
    local_app.clock.advance(timedelta(seconds=30.4))  # 00:01:00.4, the fire of 00:01:00 due
    manual = client.post(f"/scheduler/schedule/{arn}/run").json()["execution_id"]
    assert local_app.engine.tick() == 2
    assert ran == ["beside", "beside"]
    runs = {run["trigger"]: run for run in local_app.runs("beside")}
    assert runs["manual"]["execution_id"] == manual
    assert runs["manual"]["status"] == runs["schedule"]["status"] == "SUCCEEDED"
    assert runs["schedule"]["scheduled_time"] == "2030-01-01T00:01:00Z"


def test_a_manual_run_is_delivered_as_one_and_its_retry_is_the_same_run(
    local_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    """The engine's retry of a run-now keeps its key: it is not a new run."""
    use_worker(sqlite_ledger(tmp_path, local_app.clock), local_app.clock)
    probe_handler.FAILURES["retried"] = 1  # the first invocation raises before the worker
    client = local_app.client
    arn = client.post("/scheduler/schedule", json=probe_task("retried", cron="0 9 * * ? *")).json()[
        "schedule_arn"
    ]
    execution_id = client.post(f"/scheduler/schedule/{arn}/run").json()["execution_id"]
    local_app.engine.tick()
    local_app.advance(61)  # the retry (base delay 60 s)
    (run,) = local_app.runs("retried")
    assert (run["status"], run["attempts"], run["trigger"]) == ("SUCCEEDED", 2, "manual")
    events = events_for("retried")
    assert [e["headers"]["X-Task-Manual-Run"] for e in events] == [execution_id] * 2
    assert ran == ["retried"]


def test_run_now_on_aws_is_its_own_run_even_in_the_same_second(
    clock: FakeClock, ran: list[str]
) -> None:
    """moto does not run the function: the payloads the API sent are driven through the
    real lambda_handler, with one DynamoDB ledger, the way Lambda would (twice for the
    first: delivery is at least once). The runs route reads them back from the ledger."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        make_function()
        ledger = dynamodb_ledger(clock)
        use_worker(ledger, clock, SECRET)
        settings = make_settings(callback_secret=SECRET, ledger_table="task-ledger")
        app = create_app(settings, scheduler_client=scheduler, clock=clock)
        sent: list[bytes] = []
        with TestClient(app, headers=AUTH) as client:
            app.state.runtime.service.invoker._client.meta.events.register(
                "before-send.lambda.Invoke", lambda request, **_: sent.append(request.body)
            )
            request = probe_task("aws-twice", cron="0 9 * * ? *")
            arn = client.post("/scheduler/schedule", json=request).json()["schedule_arn"]
            answers = [client.post(f"/scheduler/schedule/{arn}/run") for _ in range(2)]
            events = [json.loads(payload) for payload in sent]
            statuses = [lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] for event in events]
            again = lambda_handler(json.loads(sent[0]), LAMBDA_CONTEXT)["statusCode"]
            runs = client.get("/scheduler/tasks/aws-twice/runs").json()["runs"]
    assert [answer.status_code for answer in answers] == [202, 202]
    assert statuses == [200, 200]
    assert again == 200  # the recorded result, not a third run
    assert ran == ["aws-twice", "aws-twice"]
    ids = {answer.json()["execution_id"] for answer in answers}
    assert {run["execution_id"] for run in runs} == ids
    assert [(run["status"], run["trigger"]) for run in runs] == [("SUCCEEDED", "manual")] * 2
    assert {run["scheduled_time"] for run in runs} == {"2030-01-01T00:00:30Z"}


@pytest.fixture
def signing_app(tmp_path: Path, clock: FakeClock) -> Iterator[LocalApp]:
    """The local backend with SCHEDULER_CALLBACK_SECRET, the worker holding it too."""
    probe_handler.reset()
    settings = make_local_settings(tmp_path / "s.db", callback_secret=SECRET)
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        yield LocalApp(client, app.state.runtime, clock)
    probe_handler.reset()


def altered(event: ProxyEvent, name: str, value: str) -> ProxyEvent:
    copy: ProxyEvent = json.loads(json.dumps(event))
    copy["headers"][name] = value
    copy["multiValueHeaders"][name] = [value]
    return copy


def test_the_local_engine_signs_each_delivery_and_an_altered_one_is_401(
    signing_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    use_worker(sqlite_ledger(tmp_path, signing_app.clock), signing_app.clock, SECRET)
    client = signing_app.client
    assert client.post("/scheduler/schedule", json=probe_task("sealed")).status_code == 200
    signing_app.advance(30 * 60)  # 00:30:30: its time, 00:31:00, is 30 s ahead
    signing_app.advance(30)
    (run,) = signing_app.runs("sealed")
    assert run["status"] == "SUCCEEDED"
    (event,) = events_for("sealed")
    signature = event["headers"]["X-Scheduler-Signature"]
    assert ",v2=" in signature
    assert ",v1=" not in signature
    changes = {
        "X-Scheduler-Scheduled-Time": "2030-01-01T00:30:59Z",  # a new ledger key
        "X-Scheduler-Execution-Id": "another",
        "X-Scheduler-Attempt": "2",
        "X-Scheduler-Schedule-Arn": run["schedule_arn"] + "x",
        "X-Task-Manual-Run": "m1",
    }
    for name, value in changes.items():
        altered_event = altered(event, name, value)
        assert lambda_handler(altered_event, LAMBDA_CONTEXT)["statusCode"] == 401, name
    body = event.get("body") or ""
    body_changed: ProxyEvent = {**event, "body": body.replace('"user_id": 456', '"user_id": 457')}
    assert body_changed["body"] != event["body"]
    assert lambda_handler(body_changed, LAMBDA_CONTEXT)["statusCode"] == 401
    # As delivered: the recorded result.
    assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 200
    assert ran == ["sealed"]


def test_a_local_delivery_signed_longer_ago_than_an_event_lives_is_401(
    signing_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    use_worker(sqlite_ledger(tmp_path, signing_app.clock), signing_app.clock, SECRET)
    client = signing_app.client
    assert client.post("/scheduler/schedule", json=probe_task("kept")).status_code == 200
    signing_app.advance(31 * 60)
    (event,) = events_for("kept")
    signing_app.clock.advance(timedelta(hours=2))  # past the 3600 s the worker allows
    assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 401
    assert ran == ["kept"]


OLD_EXECUTIONS = """
CREATE TABLE executions (
    id TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, schedule_arn TEXT NOT NULL,
    group_name TEXT NOT NULL, schedule_name TEXT NOT NULL, task_id TEXT,
    scheduled_time REAL NOT NULL, due_at REAL NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, input TEXT NOT NULL, target_arn TEXT NOT NULL,
    max_event_age REAL NOT NULL, delete_schedule INTEGER NOT NULL, lease_owner TEXT,
    started_at REAL, finished_at REAL, status_code INTEGER, error TEXT,
    UNIQUE (schedule_id, scheduled_time)
)"""


def test_an_older_file_keeps_its_executions_and_takes_manual_runs_of_one_instant(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_EXECUTIONS)
        conn.execute(
            "INSERT INTO executions (id, schedule_id, schedule_arn, group_name, schedule_name,"
            " task_id, scheduled_time, due_at, status, input, target_arn, max_event_age,"
            " delete_schedule) VALUES ('e1', 's1', 'arn', 'g', 'n', 't', 100, 100,"
            " 'SUCCEEDED', '{}', 'fn', 3600, 0)"
        )
    database = Database(path)
    try:
        with database.write() as conn:
            rows = conn.execute("SELECT id, run_key FROM executions").fetchall()
            assert [tuple(row) for row in rows] == [("e1", "")]
            for run in ("m1", "m2"):  # two manual runs of the fire's very instant
                conn.execute(
                    "INSERT INTO executions (id, schedule_id, schedule_arn, group_name,"
                    " schedule_name, task_id, scheduled_time, due_at, status, input,"
                    " target_arn, max_event_age, delete_schedule, run_key) VALUES"
                    " (?, 's1', 'arn', 'g', 'n', 't', 100, 100, 'PENDING', '{}', 'fn', 3600,"
                    " 0, ?)",
                    (run, run),
                )
            indexes = {row[1] for row in conn.execute("PRAGMA index_list(executions)")}
        assert {"executions_by_status_due", "executions_task"} <= indexes
    finally:
        database.close()


def test_a_signed_dead_letter_redriven_after_the_event_age_runs(
    signing_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    """A redrive is old by nature: the engine signs it when it sends it, so the worker's
    age bound (for Inputs signed at creation) does not refuse it."""
    use_worker(sqlite_ledger(tmp_path, signing_app.clock), signing_app.clock, SECRET)
    client = signing_app.client
    probe_handler.FAILURES["redriven"] = 3  # the first try and both retries raise
    assert client.post("/scheduler/schedule", json=probe_task("redriven")).status_code == 200
    for seconds in (31 * 60, 61, 121):  # its time, then each retry (60 s, 120 s later)
        signing_app.advance(seconds)
    (run,) = signing_app.runs("redriven")
    assert run["status"] == "DEAD_LETTERED"
    signing_app.clock.advance(timedelta(hours=3))  # well past the 3600 s of event age
    (letter,) = client.get("/scheduler/dead-letters").json()["dead_letters"]
    response = client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
    assert response.json()["status"] == "SUCCEEDED"
    assert ran == ["redriven"]


def test_an_input_changed_in_the_store_is_not_vouched_for_by_the_engine(
    signing_app: LocalApp, tmp_path: Path, ran: list[str]
) -> None:
    """The engine re-signs only an Input whose own signature holds: one edited in the
    SQLite file (another user, say) is delivered as it is, and the worker refuses it."""
    use_worker(sqlite_ledger(tmp_path, signing_app.clock), signing_app.clock, SECRET)
    client = signing_app.client
    assert client.post("/scheduler/schedule", json=probe_task("edited")).status_code == 200
    database = signing_app.runtime.database
    assert isinstance(database, Database)
    with database.write() as conn:
        (spec,) = conn.execute("SELECT spec FROM schedules").fetchone()
        conn.execute("UPDATE schedules SET spec = ?", (spec.replace("456", "457"),))
    signing_app.advance(31 * 60)
    (run,) = signing_app.runs("edited")
    assert (run["status"], run["status_code"]) == ("FAILED", 401)
    assert ran == []


def test_the_runs_route_on_aws_lists_around_a_record_an_older_worker_keyed_oddly(
    clock: FakeClock,
) -> None:
    """Before this release the worker keyed the ledger by the raw X-Scheduler-Scheduled-Time
    (issue 18: 'garbage' and 'now' were accepted and run). Such a record is not a run this
    route can place in time: it is left out, and the route is not a 500."""
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        ledger = dynamodb_ledger(clock)
        for key in ("garbage", "now", "2030-01-01T09:00:00Z"):
            ledger.claim("old-keys", key, attempt=1, execution_id=f"e-{key}")
        settings = make_settings(ledger_table="task-ledger")
        app = create_app(settings, scheduler_client=scheduler, clock=clock)
        with TestClient(app, headers=AUTH) as client:
            answer = client.get("/scheduler/tasks/old-keys/runs")
    assert answer.status_code == 200, answer.text
    assert [run["execution_id"] for run in answer.json()["runs"]] == ["e-2030-01-01T09:00:00Z"]
