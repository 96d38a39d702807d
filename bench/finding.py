"""Benchmark 7: finding schedules among 100,000 on the local backend, and a bulk pause.

Each filtered page is asked for through the real app (in-process ASGI: validation, the
index query, serialisation) and compared with the same query run directly on the SQLite
file with sqlite3, in the same run. Then a bulk pause of 10,000 schedules.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench.common import Result, log, percentile
from scheduler_api.backends.local.store.codec import spec_to_json
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.index import page_query, write_index
from scheduler_api.config import Settings
from scheduler_api.domain.schedules import ScheduleFilter, ScheduleSpec, ScheduleTarget
from scheduler_api.main import create_app
from task_contract import build_proxy_event

GROUP = "scheduled-tasks"
USERS = 10_000  # ten schedules each
GOLD_EVERY = 10  # one schedule in ten is labelled tier:gold: 10,000 of 100,000
PAGE = 50
TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway app in a temp dir


def _spec(n: int, rng: random.Random) -> ScheduleSpec:
    labels = {"customer": f"c-{n % 5000}", **({"tier": "gold"} if n % GOLD_EVERY == 0 else {})}
    body = {"task_id": f"t-{n:06d}", "user_id": n % USERS, "action": "cleanup", "labels": labels}
    event = build_proxy_event("/api/v1/tasks/callback", "POST", body)
    return ScheduleSpec(
        name=f"t-{n:06d}",
        group_name=GROUP,
        expression=f"cron({rng.randrange(60)} {rng.randrange(24)} * * ? *)",
        timezone="UTC",
        target=ScheduleTarget(
            arn="arn:aws:lambda:ap-northeast-2:000000000000:function:local-worker",
            role_arn="arn:aws:iam::000000000000:role/local-scheduler",
            input=json.dumps(event),
            maximum_retry_attempts=2,
            maximum_event_age_seconds=3600,
        ),
    )


def _fill(db: Path, count: int, now: datetime) -> None:
    """count schedules in one transaction: the backend's row, with a random next fire
    (its own create would compute each from the cron, which is not what is measured),
    and the backend's own index writer."""
    rng = random.Random(7)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("BEGIN")
    for n in range(count):
        spec = _spec(n, rng)
        schedule_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO schedules (group_name, name, id, arn, spec, task_id, next_fire_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                GROUP,
                spec.name,
                schedule_id,
                f"arn:aws:scheduler:ap-northeast-2:000000000000:schedule/{GROUP}/{spec.name}",
                spec_to_json(spec),
                spec.name,
                (now + timedelta(seconds=rng.uniform(0, 86400))).timestamp(),
                now.timestamp(),
                now.timestamp(),
            ),
        )
        write_index(conn, schedule_id, spec)
    conn.execute("COMMIT")
    conn.close()


def _filter(params: dict[str, Any]) -> ScheduleFilter:
    if "label" in params:
        key, _, value = params["label"].partition(":")
        return ScheduleFilter(labels={key: value})
    if "next_before" in params:
        return ScheduleFilter(next_before=datetime.fromisoformat(params["next_before"]))
    return ScheduleFilter(user_id=params["user_id"])


def timed_ms(call: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def finding(count: int = 100_000, bulk: int = 10_000, repeats: int = 200) -> Result:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-finding-") as temp:
        db = Path(temp) / "scheduler.db"
        settings = Settings(
            _env_file=None,
            backend="local",
            local_db_path=db,
            group_name=GROUP,
            api_tokens=TOKEN,
        )
        log(f"  {count} schedules")
        Database(db).close()  # the schema, as the app makes it
        _fill(db, count, now)
        app = create_app(settings, start_engine=False)  # started on the filled file
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            backend = app.state.runtime.service.backend
            raw = sqlite3.connect(db)
            hour = (now + timedelta(hours=1)).isoformat()
            queries: dict[str, dict[str, Any]] = {
                "user_id": {"user_id": 4242},
                "label": {"label": "customer:c-77"},
                "next_before": {"next_before": hour},
            }
            figures: dict[str, float | int | str] = {}
            met = True
            for name, params in queries.items():
                # The backend's own SQL for this page, run directly on the file: the ratio
                # is what the backend adds around its query (rows to items, the token).
                where = _filter(params)
                sql, args = page_query(GROUP, where, limit=PAGE, next_token=None)
                direct = timed_ms(lambda: raw.execute(sql, args).fetchall(), repeats)  # noqa: B023
                found = timed_ms(
                    lambda: backend.find_schedules(GROUP, where, limit=PAGE, next_token=None),  # noqa: B023
                    repeats,
                )
                api = timed_ms(
                    lambda: client.get("/scheduler/schedules", params={**params, "limit": PAGE}),  # noqa: B023
                    repeats,
                )
                page = client.get("/scheduler/schedules", params={**params, "limit": PAGE}).json()
                p99, direct_p99 = percentile(api, 0.99), percentile(direct, 0.99)
                backend_p99 = percentile(found, 0.99)
                figures[f"{name}_items"] = len(page["schedules"])
                figures[f"{name}_api_p99_ms"] = round(p99, 2)
                figures[f"{name}_backend_p99_ms"] = round(backend_p99, 2)
                figures[f"{name}_sqlite_p99_ms"] = round(direct_p99, 2)
                figures[f"{name}_backend_ratio"] = round(backend_p99 / direct_p99, 1)
                met = met and p99 <= 20 and backend_p99 <= 5 * direct_p99
            log(f"  bulk pause of {bulk}")
            started = time.perf_counter()
            response = client.post(
                "/scheduler/schedules/bulk",
                json={"operation": "pause", "filter": {"labels": {"tier": "gold"}}},
            ).json()
            took = time.perf_counter() - started
            figures["bulk_pause_changed"] = response["changed"]
            figures["bulk_pause_s"] = round(took, 2)
            met = met and took <= 10 and response["changed"] == bulk
    return Result(
        name="7. finding schedules (local backend)",
        measured=(
            "a filtered page of 50 through the app (in-process ASGI)"
            " vs the same query on the SQLite file"
        ),
        runs=f"{count} schedules, {repeats} pages per filter; bulk pause of {bulk}",
        figures=figures,
        target=(
            "page p99 <= 20 ms through the app; the backend's query <= 5x the same query on"
            " the file; bulk pause of 10,000 <= 10 s"
        ),
        met=met,
    )
