"""Rebuild the schedule index (SCHEDULE_TABLE) from EventBridge Scheduler.

    python scripts/reindex.py [--workers 8]

For an existing deployment (schedules made before the index) or after drift: every
schedule of the group is read (ListSchedules, then GetSchedule each) and its entry written
as EventBridge holds it; entries of schedules EventBridge no longer has are removed. Safe
to repeat and to run while the API serves: each write is conditioned like the API's own
(scheduler_api.backends.aws.index.writes), so it never overwrites a newer change.
Settings are the scheduler API's (.env); it needs the API's IAM permissions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.progress import Progress

from scheduler_api.backends.aws.index.backend import IndexedBackend
from scheduler_api.bootstrap import build_aws_runtime
from scheduler_api.config import ConfigurationError, load_settings
from scheduler_api.domain.clock import system_clock
from scheduler_api.domain.errors import SchedulerError

LIST_PAGE = 100  # ListSchedules' most


@dataclass(frozen=True)
class Reindexed:
    in_eventbridge: int
    removed: int  # entries whose schedule EventBridge no longer has


def reindex(
    backend: IndexedBackend,
    group: str,
    *,
    workers: int = 8,
    advance: Callable[[int], None] = lambda _: None,
    total: Callable[[int], None] = lambda _: None,
) -> Reindexed:
    names: set[str] = set()
    token: str | None = None
    while True:
        page = backend.eventbridge.list_schedules(group, limit=LIST_PAGE, next_token=token)
        names.update(item.name for item in page.schedules)
        token = page.next_token
        if token is None:
            break
    indexed = {stored.entry.name for stored in backend.query.entries(group)}
    todo = sorted(names | indexed)
    total(len(todo))

    def heal(name: str) -> None:
        backend.writes.heal(group, name)
        advance(1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(heal, todo))  # list(): raise the first error here
    return Reindexed(len(names), len(indexed - names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8, help="GetSchedule calls at a time")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if settings.backend_name != "aws" or not settings.schedule_table:
            raise ConfigurationError(
                "reindex needs the AWS backend and SCHEDULE_TABLE (make deploy-lambda prints it)"
            )
        backend = build_aws_runtime(settings, system_clock).service.backend
    except ConfigurationError as exc:
        print(f"reindex: {exc}", file=sys.stderr)
        return 2
    assert isinstance(backend, IndexedBackend)
    try:
        with Progress(transient=False) as progress:
            bar = progress.add_task(f"reindex {settings.group_name}", total=None)
            result = reindex(
                backend,
                settings.group_name,
                workers=args.workers,
                advance=lambda n: progress.advance(bar, n),
                total=lambda n: progress.update(bar, total=n),
            )
    except SchedulerError as exc:
        print(f"reindex: {exc}", file=sys.stderr)
        return 1
    print(
        f"reindex: {result.in_eventbridge} schedules in EventBridge indexed,"
        f" {result.removed} entries of deleted schedules removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
