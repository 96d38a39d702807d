"""The SQLite ledger's writer rule (lambda_worker/ledger/writers.py): its writers take
turns, in the process and across processes, before SQLite is asked, so none meets
SQLite's busy handler. Each test that writes concurrently sets that handler's timeout
to 0: a writer that met another inside SQLite would raise "database is locked" at once."""

from __future__ import annotations

import fcntl
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, app, get_worker
from lambda_worker.config import WorkerConfig, WorkerConfigError, build_ledger
from lambda_worker.ledger.base import Ledger, LedgerUnavailableError
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from task_contract import TaskFailedError
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.worker.test_worker import scheduled_event

ROOT = Path(__file__).resolve().parents[2]
KEYS = [f"2030-01-01T09:{n // 60:02d}:{n % 60:02d}Z" for n in range(150)]
THREADS = 12


def claim_all(ledger: Ledger, keys: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Claim every key in a shuffled order, finishing each won (with the task lock of
    overlap=skip around it: two more writes): (the keys won, the errors met)."""
    won: list[str] = []
    errors: list[str] = []
    order = random.Random(seed).sample(keys, len(keys))
    for key in order:
        try:
            claim = ledger.claim("job", key, attempt=1, execution_id=key)
            if claim.outcome == "run":
                won.append(key)
                token = ledger.lock_task(f"job-{key}")
                assert token is not None
                ledger.succeed(claim.record, {"key": key})
                ledger.unlock_task(f"job-{key}", token)
        except Exception as exc:  # counted: the test's point is that there are none
            errors.append(f"{type(exc).__name__}: {exc}")
    return won, errors


def stored(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT scheduled_time, status, attempts FROM ledger").fetchall()
    return sorted(rows)


def test_many_threads_claiming_and_finishing_never_meet_the_busy_handler(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(
        SQLiteLedgerStore(path, busy_timeout=0), in_progress_timeout=900, ttl_seconds=60
    )
    barrier = threading.Barrier(THREADS)
    results: list[tuple[list[str], list[str]]] = [([], [])] * THREADS

    def run(n: int) -> None:
        barrier.wait()
        results[n] = claim_all(ledger, KEYS, seed=n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [error for _, thread_errors in results for error in thread_errors]
    assert errors == []
    winners = Counter(key for won, _ in results for key in won)
    assert winners == Counter(KEYS)  # every claim decided once: one winner per key
    assert stored(path) == [(key, "SUCCEEDED", 1) for key in sorted(KEYS)]


PROCESS_SCRIPT = """
import json, sys, threading
from pathlib import Path
from lambda_worker.ledger.base import Ledger
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from tests.worker.test_ledger_writers import KEYS, claim_all
path, seed, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ledger = Ledger(SQLiteLedgerStore(path, busy_timeout=0), in_progress_timeout=900, ttl_seconds=60)
results = [None] * threads
def run(n):
    results[n] = claim_all(ledger, KEYS, seed=seed * 100 + n)
workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
print("ready", flush=True)
sys.stdin.readline()  # every process starts at once
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps({"won": [k for won, _ in results for k in won],
                  "errors": [e for _, errors in results for e in errors]}), flush=True)
"""


def start(script: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


def test_several_processes_writing_one_ledger_never_meet_the_busy_handler(
    tmp_path: Path,
) -> None:
    """`make run WORKERS=N`: processes (each with threads) on one ledger file."""
    path = tmp_path / "ledger.db"
    SQLiteLedgerStore(path)  # the file made before any of them opens it
    processes = [start(PROCESS_SCRIPT, str(path), str(seed), "4") for seed in range(4)]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == b"ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        reports = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0] * len(processes)
    assert [error for report in reports for error in report["errors"]] == []
    winners = Counter(key for report in reports for key in report["won"])
    assert winners == Counter(KEYS)
    assert stored(path) == [(key, "SUCCEEDED", 1) for key in sorted(KEYS)]


FLOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(600)  # until the test kills it
"""


@contextmanager
def writer_lock_held_from_outside(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holding the ledger's writer lock, as a writer stuck mid-write."""
    holder = start(FLOCK_HOLDER, f"{path}.writer-lock")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_writer_behind_a_lock_held_from_outside_waits_its_deadline_then_is_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(
        SQLiteLedgerStore(path, writer_timeout=0.5), in_progress_timeout=900, ttl_seconds=60
    )
    with writer_lock_held_from_outside(path):
        started = time.monotonic()
        with pytest.raises(LedgerUnavailableError):
            ledger.claim("job", KEYS[0], attempt=1, execution_id="e")
        assert time.monotonic() - started >= 0.5  # it waited its turn until the deadline
        with pytest.raises(LedgerUnavailableError):  # opening writes the schema: alike
            SQLiteLedgerStore(path, writer_timeout=0.1)
    assert ledger.claim("job", KEYS[0], attempt=1, execution_id="e").outcome == "run"


def test_a_writer_behind_a_thread_of_its_own_process_waits_its_deadline_too(
    tmp_path: Path,
) -> None:
    """The in-process half of the turn has the same deadline: a thread stuck mid-write
    (here, one that holds its turn until told) makes the others fail, not hang."""
    store = SQLiteLedgerStore(tmp_path / "ledger.db", writer_timeout=0.3)
    ledger = Ledger(store, in_progress_timeout=900, ttl_seconds=60)
    holding, release = threading.Event(), threading.Event()

    def stuck_writer() -> None:
        with store.writers:
            holding.set()
            release.wait()

    stuck = threading.Thread(target=stuck_writer)
    stuck.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with pytest.raises(LedgerUnavailableError):
            ledger.claim("job", KEYS[0], attempt=1, execution_id="e")
        assert time.monotonic() - started >= 0.3
    finally:
        release.set()
        stuck.join()
    assert ledger.claim("job", KEYS[0], attempt=1, execution_id="e").outcome == "run"


@pytest.fixture
def counted_action() -> Iterator[list[str]]:
    calls: list[str] = []

    @action("counted_writes")
    def counted(task: TaskCallbackRequest) -> dict[str, Any]:
        calls.append(task.task_id)
        return {"count": len(calls)}

    yield calls
    action_registry._actions.pop("counted_writes", None)


def test_a_delivery_whose_ledger_stays_locked_is_a_503_the_engine_retries(
    tmp_path: Path, counted_action: list[str]
) -> None:
    """Through the real lambda_handler: LedgerUnavailable, nothing run; once the lock is
    free the retry runs it."""
    from lambda_worker.handler import lambda_handler

    path = tmp_path / "ledger.db"
    ledger = Ledger(
        SQLiteLedgerStore(path, writer_timeout=0.2), in_progress_timeout=900, ttl_seconds=60
    )
    app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), ledger)
    event = scheduled_event({"task_id": "locked", "user_id": 1, "action": "counted_writes"})
    try:
        with writer_lock_held_from_outside(path):
            with pytest.raises(TaskFailedError) as raised:
                lambda_handler(event, LAMBDA_CONTEXT)
            assert (raised.value.status_code, raised.value.error_type) == (
                503,
                "LedgerUnavailable",
            )
            assert counted_action == []
        assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 200  # the retry
    finally:
        app.dependency_overrides.clear()
    assert counted_action == ["locked"]


KILLED_WRITER = """
import sys, time
from pathlib import Path
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
store = SQLiteLedgerStore(Path(sys.argv[1]))
with store._writing() as conn:  # killed mid-write: its turn and SQLite's lock held
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO ledger (task_id, scheduled_time, status) VALUES ('x', ?, 'RUNNING')",
                 (sys.argv[2],))
    print("writing", flush=True)
    time.sleep(600)
"""


def test_a_writer_killed_holding_its_turn_frees_it(tmp_path: Path) -> None:
    """SIGKILL mid-write: the kernel frees the flock (and SQLite's own lock), so the next
    writer has its turn at once, busy handler off, and the half-write never landed."""
    path = tmp_path / "ledger.db"
    writer = start(KILLED_WRITER, str(path), KEYS[0])
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"writing"
        with open(f"{path}.writer-lock", "rb") as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: not ours to take
        writer.kill()
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    ledger = Ledger(
        SQLiteLedgerStore(path, writer_timeout=0.0, busy_timeout=0),
        in_progress_timeout=900,
        ttl_seconds=60,
    )
    assert ledger.claim("x", KEYS[0], attempt=1, execution_id="e").outcome == "run"
    assert stored(path) == [(KEYS[0], "RUNNING", 1)]


def test_a_ledger_path_that_cannot_be_opened_is_named_at_start_up(tmp_path: Path) -> None:
    """The schema write takes its turn too, but keeps sqlite3's own error for build_ledger."""
    directory = tmp_path / "ledger.db"
    directory.mkdir()
    with pytest.raises(WorkerConfigError, match="LEDGER_DB_PATH: cannot open"):
        build_ledger(WorkerConfig(ledger_db_path=directory))
