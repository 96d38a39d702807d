"""Benchmark 11's runner: one side (ours, apscheduler or huey) in a process of its own,
so its peak RSS is that side's. It gives every job a key and a due time, lets the side
create them all before the first is due, waits until every key has run (counted by the
job itself, bench/peer_jobs.py), stops the side (its pool drained) and prints what
happened as one JSON line on stderr.

    python -m bench.peer_run ours burst --count 10000 --workers 8
    python -m bench.peer_run huey steady --rate 200 --seconds 30 --workers 8

It imports nothing of ours but what its side needs (a peer's RSS is not ours).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import peer_jobs
from bench.common import percentile

SIDES = {
    "ours": "bench.peer_ours",
    "apscheduler": "bench.peer_apscheduler",
    "huey": "bench.peer_huey",
}
# Jobs each side creates per second here, about (ours: POSTs, 8 in flight; APScheduler:
# add_job, a commit each), with room: the lead before the first is due.
CREATE_PER_S = {"ours": 400, "apscheduler": 400, "huey": 1000}
TIMEOUT_SECONDS = 300
OVERRUN = 3  # the exit code when the jobs were not all created before the first was due


def due_times(
    mode: str, count: int, rate: int, seconds: int, create_per_s: int
) -> dict[str, datetime]:
    """Keys to due times, in whole seconds as EventBridge's at() has them: `count` at one
    instant (burst), or `rate` due at each of `seconds` seconds (steady)."""
    total = count if mode == "burst" else rate * seconds
    lead = 3 + total / create_per_s
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=round(lead) + 1)
    if mode == "burst":
        return {f"job-{n}": first for n in range(count)}
    return {f"job-{n}": first + timedelta(seconds=n // rate) for n in range(total)}


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, its memory's own high-water mark. Not getrusage's
    ru_maxrss, which Linux carries over exec from the forking parent (bench.run, larger
    than a peer): every peer then showed the parent's figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def report(due: dict[str, datetime], created: float) -> dict[str, float | int]:
    started, runs = peer_jobs.completions()
    first_due = min(due.values()).timestamp()
    late = [started[key] - when.timestamp() for key, when in due.items() if key in started]
    last = max(started.values(), default=first_due)
    return {
        "scheduled": len(due),
        "ran": sum(1 for key in due if runs[key] >= 1),
        "ran_twice": sum(1 for key in due if runs[key] > 1),
        "lost": sum(1 for key in due if runs[key] == 0),
        "unknown": sum(1 for key in runs if key not in due),
        "created_before_due_s": round(first_due - created, 2),
        "all_done_after_due_s": round(last - first_due, 3),
        "runs_per_s": round(len(started) / max(1e-9, last - first_due), 1),
        "lateness_p50_s": round(percentile(late, 0.5), 3),
        "lateness_p99_s": round(percentile(late, 0.99), 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=sorted(SIDES))
    parser.add_argument("mode", choices=["burst", "steady"])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--create-per-s", type=int, default=0, help="the lead's estimate")
    parser.add_argument("--workers", type=int, required=True)  # LOCAL_CONCURRENCY's default
    args = parser.parse_args(argv)
    side = importlib.import_module(SIDES[args.side])
    create_per_s = args.create_per_s or CREATE_PER_S[args.side]
    due = due_times(args.mode, args.count, args.rate, args.seconds, create_per_s)
    creating = time.time()
    with tempfile.TemporaryDirectory() as temp:
        created = side.run(due, Path(temp), args.workers, TIMEOUT_SECONDS)
    figures = report(due, created)
    if figures["created_before_due_s"] < 0:
        # A loaded host created slower than the estimate: say how fast, for a new try.
        measured = len(due) / max(1e-9, created - creating)
        print(json.dumps({"overrun": True, "create_per_s": round(measured)}), file=sys.stderr)
        return OVERRUN
    print(json.dumps(figures), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
