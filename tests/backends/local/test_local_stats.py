"""The local store's figures for /metrics (backends/local/stats.py), on a file of its own,
and the collector that turns them into gauges (observability/metrics.py), which takes
them as plain numbers and imports no backend."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from scheduler_api.backends.local.stats import Backlog, read_backlog
from scheduler_api.backends.local.store.database import Database
from scheduler_api.observability.metrics import EngineGaugeCollector, EngineGauges

EXECUTION = (
    "INSERT INTO executions (id, schedule_id, schedule_arn, group_name, schedule_name,"
    " scheduled_time, due_at, status, input, target_arn, max_event_age, delete_schedule,"
    " lease_owner, run_key) VALUES (?, 's', 'arn', 'g', 'n', ?, ?, ?, '{}', 'fn', 3600, 0, ?, ?)"
)


def test_the_backlog_counts_what_is_due_and_unclaimed_and_the_letters_not_redriven(
    tmp_path: Path,
) -> None:
    database = Database(tmp_path / "s.db")
    try:
        with database.write() as conn:
            for schedule_id, fire in (("s1", 50), ("s2", 100), ("s3", 200)):
                conn.execute(
                    "INSERT INTO schedules (group_name, name, id, arn, spec, next_fire_at,"
                    " created_at, updated_at) VALUES ('g', ?, ?, 'arn', '{}', ?, 0, 0)",
                    (schedule_id, schedule_id, fire),
                )
            for execution_id, due, status, owner in (
                ("pending", 90, "PENDING", None),
                ("retrying", 100, "RETRYING", None),
                ("later", 150, "PENDING", None),
                ("claimed", 90, "RUNNING", "an-engine"),
                ("letter", 10, "DEAD_LETTERED", None),
                ("redriven", 10, "SUCCEEDED", None),
            ):
                conn.execute(EXECUTION, (execution_id, due, due, status, owner, execution_id))
            conn.execute(
                "INSERT INTO dead_letters (execution_id, event, reason, created_at, redriven_at)"
                " VALUES ('letter', '{}', 'failed', 10, NULL), ('redriven', '{}', 'x', 10, 20)"
            )
        assert read_backlog(database, 100.0) == Backlog(
            dead_letters=1, due_executions=2, due_fires=2
        )
    finally:
        database.close()


def test_the_collector_reports_the_gauges_it_is_handed() -> None:
    registry = CollectorRegistry()
    registry.register(EngineGaugeCollector(lambda: EngineGauges(3, 7, engine_up=True)))
    text = generate_latest(registry).decode()
    assert "scheduler_dead_letters 3.0" in text
    assert "scheduler_due_backlog 7.0" in text
    assert "scheduler_engine_up 1.0" in text
