"""Benchmark 13: where the engine's bookkeeping goes, per run (issue 22, item 5's
profile, written by a run instead of retyped from one).

The rounds alone, as benchmark 5's `bookkeeping_us_per_run_one_thread` runs them
(bench/engine_run.py `bookkeeping`: one thread, `concurrency` claims a round, a made-up
success recorded for each), in one process, each run on a file of its own made first:
- plain: the time per run, to set beside the target (a median of `PAIRS` runs), each
  run followed by the same rounds on the store design's prototype
  (bench/rounds_design.py: the design bench/README.md names), on a copy of the same
  schedules: `design_us_per_run`, a median too, and the median of each pair's ratio;
- the pages the rounds wrote: every WAL frame after the first plain run (the WAL emptied
  before it, checkpoints off), by the b-tree its page belongs to (SQLite's dbstat; a page
  one b-tree freed and another took is `reused`), and the design's total;
- plain again with one claim a round, the smallest a burst's rounds can be (benchmark
  12's `*_runs_per_round`), for the product and the design, and from the product's two
  plain times the part of a round's cost that does not grow with its runs
  (`round_fixed_us_estimate`);
- on a file in use (bench/resident_file.py), the product and the prototype in pairs
  again;
- timed, last: each SQL statement's time, by what it does, its rows' fetching included
  (a connection factory, installed after the plain runs, times every statement of the
  engine's connections in this process only), and the rest of the round's time as
  Python. Timing adds its own cost, and the runs are on different files one after the
  other, so the sums differ from the plain time by that and by the run-to-run spread.

    python -m bench.rounds_profile --count 10000
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench.common import Result, log, median, run_module
from bench.resident_file import (
    ResidentFile,
    copy_of,
    counts,
    expected,
    local_runtime,
    make_resident_file,
)
from bench.sqlite_floor import floor_us_per_run, target_floors
from scheduler_api.domain.clock import from_epoch, to_epoch

TARGET_US = 50
# Issue 22's text: the product's bookkeeping when the issue was filed, "146 µs per run on
# one thread" (benchmark 5's figure then). The product is no slower now (every change
# since cut the instructions a run executes), so the design's ratio to the product in
# the same pairs times this estimates the design's time on the host as the issue
# measured it, as far as the ratio does not move with the host's speed (its lowest and
# highest pair are figures too): both sides of a pair share the host's speed of the
# moment, which moves between runs, and moves the rounds more than the floor.
PRODUCT_US_AT_FILING = 146
DESIGN_FIGURES = (
    "floor_us_per_run",
    "us_per_run_in_floors",
    "design_us_per_run_in_floors",
    "design_us_per_run",
    "design_us_per_run_lowest",
    "design_us_per_run_highest",
    "design_ratio_to_product",
    "design_ratio_to_product_lowest",
    "design_ratio_to_product_highest",
    "design_wal_pages_per_run",
    "design_us_per_run_one_claim_a_round",
    "design_wal_pages_per_run_one_claim_a_round",
)
RESIDENT_FIGURES = (
    "resident_schedules",
    "resident_us_per_run",
    "resident_wal_pages_per_run",
    "resident_design_us_per_run",
    "resident_design_ratio_to_product",
    "resident_design_wal_pages_per_run",
)
PAIRS = 5  # the product and the design, alternating
RESIDENT = 50_000  # schedules due later, and earlier runs, in the resident file
CLAIMS = 8  # a round's claims, as LOCAL_CONCURRENCY's default and benchmark 5 have it

# What each statement does, by the start of its text; the first that matches names it.
STEPS = [
    ("commit", "COMMIT"),
    ("materialize_mark_schedule", "UPDATE schedules SET next_fire_at"),
    ("delete_one_time_schedule", "DELETE FROM schedules"),
    ("add_execution", "INSERT OR IGNORE INTO executions"),
    ("add_execution_input", "INSERT INTO execution_inputs"),
    ("claim_select", "SELECT e.id, e.schedule_arn"),
    ("claim_update", "UPDATE executions SET lease_owner = ?"),
    ("outcome_update", "UPDATE executions SET status = ?"),
    ("outcome_select_held", "SELECT id, max_event_age"),
    ("materialize_select", "SELECT rowid, id, arn"),
]
_timing = [False]
_T = TypeVar("_T")
_spent: dict[str, float] = defaultdict(float)


@functools.cache  # the engine's statements are a few constant texts
def _step(sql: str) -> str:
    text = " ".join(sql.split())
    return next((name for name, start in STEPS if text.startswith(start)), "other_sql")


def _spend(step: str, call: Callable[[], _T]) -> _T:
    """call(), its time added to `step`."""
    started = time.perf_counter()
    try:
        return call()
    finally:
        _spent[step] += time.perf_counter() - started


class TimedCursor(sqlite3.Cursor):
    """Adds the time its rows take to fetch to its statement's step: sqlite3 steps a
    SELECT only to its first row inside `execute`, the rest as the rows are read."""

    step = "other_sql"

    def fetchall(self) -> list[Any]:
        return _spend(self.step, super().fetchall)

    def fetchone(self) -> Any:
        return _spend(self.step, super().fetchone)

    def __next__(self) -> Any:
        return _spend(self.step, super().__next__)


class TimedConnection(sqlite3.Connection):
    """Adds each statement's time, its rows' included, to _spent while _timing is on."""

    def cursor(self, factory: Any = TimedCursor) -> Any:  # what execute() makes its cursor with
        return super().cursor(factory)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if not _timing[0]:
            return super().execute(sql, *args)
        cursor = _spend(_step(sql), lambda: super(TimedConnection, self).execute(sql, *args))
        if isinstance(cursor, TimedCursor):
            cursor.step = _step(sql)
        return cursor

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if not _timing[0]:
            return super().executemany(sql, *args)
        return _spend(_step(sql), lambda: super(TimedConnection, self).executemany(sql, *args))


def _timed_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    kwargs.setdefault("factory", TimedConnection)
    conn: sqlite3.Connection = _connect(*args, **kwargs)
    return conn


_connect = sqlite3.connect


def _ready_runtime(temp: Path, name: str, count: int) -> Any:
    """A local runtime on its own file, with `count` one-time schedules due now."""
    from bench.engine_run import schedule

    now = [datetime.now(UTC)]
    runtime = local_runtime(temp / f"{name}.db", lambda: now[0])
    schedule(runtime.service, [now[0] + timedelta(seconds=5)] * count)
    now[0] += timedelta(seconds=6)
    return runtime


def _pages_by_btree(db: Path, before: dict[int, str], count: int) -> dict[str, float]:
    """WAL frames per run, by the b-tree their page belongs to before and after the rounds.
    A page freed by one b-tree (a deleted schedule's) and taken by another (an execution's
    insert) in the same rounds is `reused`, not either's; page 1 is the file's header,
    which commits that change the freelist rewrite (dbstat names it sqlite_schema)."""
    with sqlite3.connect(db) as conn:
        after = {page: name for name, page in conn.execute("SELECT name, pageno FROM dbstat")}
    frames: Counter[str] = Counter()
    with Path(f"{db}-wal").open("rb") as wal:  # frame by frame: it is hundreds of MB
        page_size = struct.unpack(">I", wal.read(32)[8:12])[0]
        while len(header := wal.read(24)) == 24:
            page = struct.unpack(">I", header[:4])[0]
            wal.seek(page_size, os.SEEK_CUR)
            old, new = before.get(page), after.get(page)
            if page == 1:
                frames["file_header"] += 1
            elif old and new and old != new:
                frames["reused"] += 1
            else:
                frames[old or new or "freelist"] += 1
    return {name: round(n / count, 2) for name, n in frames.most_common()}


def measure(count: int, resident: int = RESIDENT) -> dict[str, Any]:
    from bench.engine_run import bookkeeping

    with tempfile.TemporaryDirectory() as temp_name:
        temp = Path(temp_name)
        os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")  # never used: no handler
        # The product and the design's prototype (bench/rounds_design.py) alternating,
        # on the same schedules, each pair starting with the side the last one ended
        # with: a ratio of the two in one pair is steadier than either (this host's
        # speed moves between runs).
        floors: list[float] = []  # the floor (bench/sqlite_floor.py) around each pair
        pairs = _pairs(
            lambda n: _plain(temp, f"plain{n}", count, claims=CLAIMS),
            lambda n: _design(temp, f"design{n}", count, CLAIMS),
            floors,
        )
        us_per_run, design_us = _medians(pairs)
        pages, design_pages = pairs[0][0][1], pairs[0][1][1]
        # The same burst in a file that has been in use (bench/resident_file.py).
        log(f"  the same burst among {resident} resident schedules and {resident} earlier runs")
        file = make_resident_file(temp, count, resident)
        resident_pairs = _pairs(
            lambda n: _plain_resident(temp, f"resident_plain{n}", file),
            lambda n: _design_resident(temp, f"resident_design{n}", file),
        )
        # The burst's rounds are small (benchmark 12's `*_runs_per_round`): a run's share
        # of what a round costs whatever its size grows as they shrink.
        one_claim_us, one_claim_pages = _plain(temp, "one_claim", count, claims=1)
        design_one_us, design_one_pages = _design(temp, "design_one_claim", count, 1)
        # If a round cost a part whatever its size and a part per run, that first part.
        fixed_us = (one_claim_us - us_per_run) * CLAIMS / (CLAIMS - 1)
        # Only now, so that the plain runs' connections are sqlite3's own.
        sqlite3.connect = _timed_connect  # type: ignore[assignment]  # this process only
        timed = _ready_runtime(temp, "timed", count)
        _timing[0] = True
        started = time.perf_counter()
        bookkeeping(timed, CLAIMS)
        elapsed = time.perf_counter() - started
        _timing[0] = False
        timed.engine.database.close()
    sql = {
        name: round(seconds / count * 1e6, 1)
        for name, seconds in sorted(_spent.items(), key=lambda kv: -kv[1])
    }
    return {
        "us_per_run": us_per_run,
        "timed_us_per_run": round(elapsed / count * 1e6, 1),
        "sql_us_per_run": sql,
        "python_us_per_run": round((elapsed - sum(_spent.values())) / count * 1e6, 1),
        "wal_pages_per_run": round(sum(pages.values()), 2),
        "wal_pages_by_btree": pages,
        "us_per_run_one_claim_a_round": one_claim_us,
        "wal_pages_per_run_one_claim_a_round": round(sum(one_claim_pages.values()), 2),
        "round_fixed_us_estimate": round(fixed_us, 1),
        "design_us_per_run": design_us,
        # This host's speed moves between runs: the pairs' extremes beside their median.
        "design_us_per_run_lowest": min(design[0] for _, design in pairs),
        "design_us_per_run_highest": max(design[0] for _, design in pairs),
        "design_ratio_to_product": _ratio(pairs),
        "design_ratio_to_product_lowest": min(_pair_ratios(pairs)),
        "design_ratio_to_product_highest": max(_pair_ratios(pairs)),
        "floor_us_per_run": round(median(floors), 2),
        "us_per_run_in_floors": _in_floors(pairs, floors, 0),
        "design_us_per_run_in_floors": _in_floors(pairs, floors, 1),
        "design_wal_pages_per_run": round(sum(design_pages.values()), 2),
        "design_us_per_run_one_claim_a_round": design_one_us,
        "design_wal_pages_per_run_one_claim_a_round": round(sum(design_one_pages.values()), 2),
        "resident_schedules": resident,
        "resident_us_per_run": _medians(resident_pairs)[0],
        "resident_wal_pages_per_run": round(sum(resident_pairs[0][0][1].values()), 2),
        "resident_design_us_per_run": _medians(resident_pairs)[1],
        "resident_design_ratio_to_product": _ratio(resident_pairs),
        "resident_design_wal_pages_per_run": round(sum(resident_pairs[0][1][1].values()), 2),
        "resident_design_wal_pages_by_btree": resident_pairs[0][1][1],
    }


_Run = tuple[float, dict[str, float]]  # a run's time per run, and its WAL pages by b-tree


def _pairs(
    product: Callable[[int], _Run],
    design: Callable[[int], _Run],
    floors: list[float] | None = None,
) -> list[tuple[_Run, _Run]]:
    """`PAIRS` pairs of a product run and a design run, the side that goes first
    alternating (product, design; design, product; ...), so that neither is always
    the one after a pause or a file's creation. With `floors`, the issue's floor
    (bench/sqlite_floor.py) is measured into it before each pair and after the last."""
    pairs = []
    for n in range(PAIRS):
        if floors is not None:
            floors.append(floor_us_per_run())
        if n % 2:
            designed = design(n)
            pairs.append((product(n), designed))
        else:
            made = product(n)
            pairs.append((made, design(n)))
    if floors is not None:
        floors.append(floor_us_per_run())
    return pairs


def _in_floors(pairs: list[tuple[_Run, _Run]], floors: list[float], side: int) -> float:
    """The median over the pairs of one side's time (0: product, 1: design) in floors
    measured around its pair (the mean of the floor before it and after it)."""
    return round(
        median([pair[side][0] / ((floors[n] + floors[n + 1]) / 2) for n, pair in enumerate(pairs)]),
        2,
    )


def _medians(pairs: list[tuple[_Run, _Run]]) -> tuple[float, float]:
    """The median time per run of each side, product and design."""
    return median([p[0] for p, _ in pairs]), median([d[0] for _, d in pairs])


def _pair_ratios(pairs: list[tuple[_Run, _Run]]) -> list[float]:
    """Each pair's ratio, design over product."""
    return [round(design[0] / product[0], 2) for product, design in pairs]


def _ratio(pairs: list[tuple[_Run, _Run]]) -> float:
    """The median of each pair's ratio, design over product."""
    return round(median([design[0] / product[0] for product, design in pairs]), 2)


def _design(temp: Path, name: str, count: int, claims: int) -> _Run:
    """The design's prototype on a copy of the product's schedules, `claims` a round: its
    time per run and the WAL pages it wrote by b-tree, as `_plain` gives the product's.
    Every schedule must have run once, its execution kept and its row gone."""
    runtime = _ready_runtime(temp, f"{name}_product", count)
    runtime.engine.database.close()
    now = to_epoch(runtime.engine.store.clock())
    return _design_on(
        temp, name, temp / f"{name}_product.db", now, claims, count, expected(count, 0)
    )


def _design_resident(temp: Path, name: str, file: ResidentFile) -> _Run:
    """The design's prototype on its copy of the resident file: every earlier run kept,
    the burst run once, the schedules due later left."""
    ran = expected(file.resident + file.count, file.resident)
    return _design_on(temp, name, file.path, file.now, CLAIMS, file.count, ran)


def _design_on(
    temp: Path,
    name: str,
    product_db: Path,
    now: float,
    claims: int,
    count: int,
    left_as: dict[str, Any],
) -> _Run:
    from bench.rounds_design import copy_product_schedules, design_bookkeeping, design_counts

    database = copy_product_schedules(product_db, temp / f"{name}.db")
    before = _emptied_wal(database.connection(), temp / f"{name}.db")
    us_per_run: float = design_bookkeeping(database, now, claims)["us_per_run"]
    pages = _pages_by_btree(temp / f"{name}.db", before, count)
    left = design_counts(temp / f"{name}.db", now)
    assert left == left_as, f"the design left {left}, not {left_as}"
    database.close()
    _remove(temp, name)
    return us_per_run, pages


def _emptied_wal(conn: sqlite3.Connection, db: Path) -> dict[int, str]:
    """Empty the WAL (so that only the rounds' frames are counted), and the file's pages
    by b-tree before the rounds."""
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "the WAL was not emptied: its frames would be counted as the rounds'"
    with sqlite3.connect(db) as reader:
        return {page: btree for btree, page in reader.execute("SELECT name, pageno FROM dbstat")}


def _remove(temp: Path, name: str) -> None:
    """A run's files: their WAL is hundreds of MB."""
    for path in temp.glob(f"{name}*"):
        if path.is_dir():  # the engines' lock files (store/liveness.py)
            shutil.rmtree(path)
        else:
            path.unlink()


def _plain(temp: Path, name: str, count: int, *, claims: int) -> _Run:
    """The rounds alone, `claims` a round, untimed: their time per run, and the WAL pages
    they wrote by b-tree (the WAL emptied before; checkpoints are off in the rounds)."""
    runtime = _ready_runtime(temp, name, count)
    return _plain_on(temp, name, runtime, claims, count, expected(count, 0))


def _plain_resident(temp: Path, name: str, file: ResidentFile) -> _Run:
    """The product's rounds on a byte-for-byte copy of the resident file."""
    db = copy_of(file, temp / f"{name}.db")
    runtime = local_runtime(db, lambda: from_epoch(file.now))
    ran = expected(file.resident + file.count, file.resident)
    return _plain_on(temp, name, runtime, CLAIMS, file.count, ran)


def _plain_on(
    temp: Path, name: str, runtime: Any, claims: int, count: int, left_as: dict[str, Any]
) -> _Run:
    from bench.engine_run import bookkeeping

    db = temp / f"{name}.db"
    before = _emptied_wal(runtime.engine.database.connection(), db)
    us_per_run: float = bookkeeping(runtime, claims)["us_per_run"]
    pages = _pages_by_btree(db, before, count)
    runtime.engine.database.close()
    left = counts(db, to_epoch(runtime.engine.store.clock()))
    assert left == left_as, f"the product left {left}, not {left_as}"
    _remove(temp, name)
    return us_per_run, pages


def rounds_profile(count: int = 10_000, resident: int = RESIDENT) -> Result:
    log(f"  the rounds alone, {count} runs: plain, then each statement timed")
    profile = run_module("bench.rounds_profile", "--count", str(count), "--resident", str(resident))
    figures: dict[str, float | int | str] = {
        "us_per_run": profile["us_per_run"],
        "timed_us_per_run": profile["timed_us_per_run"],
        "python_us_per_run": profile["python_us_per_run"],
        **{f"sql_{name}_us": us for name, us in profile["sql_us_per_run"].items()},
        "wal_pages_per_run": profile["wal_pages_per_run"],
        **{f"pages_{name}": n for name, n in profile["wal_pages_by_btree"].items() if n >= 0.05},
        "us_per_run_one_claim_a_round": profile["us_per_run_one_claim_a_round"],
        "wal_pages_per_run_one_claim_a_round": profile["wal_pages_per_run_one_claim_a_round"],
        "round_fixed_us_estimate": profile["round_fixed_us_estimate"],
        **{name: profile[name] for name in DESIGN_FIGURES},
        **{name: profile[name] for name in RESIDENT_FIGURES},
        **{
            f"resident_design_pages_{name}": n
            for name, n in profile["resident_design_wal_pages_by_btree"].items()
            if n >= 0.1
        },
        # On each file: the one benchmark 5 measures (made for the burst), and one in use.
        "design_within_target": _yes(profile["design_us_per_run"] <= TARGET_US),
        # The same in floors of the same minutes (bench/sqlite_floor.py), against the
        # target in floors of the host the issue measured; what slows this host slows the
        # floor only in part (bench/README.md).
        "target_in_floors": target_floors(TARGET_US),
        "design_within_target_in_floors": _yes(
            profile["design_us_per_run_in_floors"] <= target_floors(TARGET_US)
        ),
        # And as its share of the product's time in the same pairs, on the host as the
        # issue measured the product (PRODUCT_US_AT_FILING).
        "design_us_per_run_at_filing": _at_filing(profile["design_ratio_to_product"]),
        "design_within_target_at_filing": _yes(
            _at_filing(profile["design_ratio_to_product"]) <= TARGET_US
        ),
        "resident_design_within_target": _yes(profile["resident_design_us_per_run"] <= TARGET_US),
    }
    return Result(
        name="13. where the engine's bookkeeping goes (benchmark 5's rounds alone, profiled)",
        measured=(
            "the rounds alone in one thread (8 claims a round, a made-up success each):"
            " plain, then every SQL statement of the engine timed by what it does (Python is"
            " the rest), and the WAL pages the plain run wrote by b-tree (dbstat); beside"
            " them, the same rounds on the design's prototype (bench/rounds_design.py)"
        ),
        runs=(
            f"{count} one-time schedules due at once, on a file of their own and on one in use"
            f" ({resident} due later, {resident} earlier runs); plain and the prototype"
            f" alternating, {PAIRS} pairs on each file (medians; pages from the first pair);"
            " the rest once"
        ),
        figures=figures,
        target=(
            f"bookkeeping <= {TARGET_US} us per run (issue 22, item 5); design_within_target"
            " and resident_design_within_target say whether the design's prototype is, on"
            " each file; design_within_target_in_floors and _at_filing the same with this"
            " host's speed divided out, two ways"
        ),
        met=float(profile["us_per_run"]) <= TARGET_US,
    )


def _at_filing(ratio_to_product: float) -> float:
    """The design's time per run, estimated on the host as issue 22 measured the product."""
    return round(ratio_to_product * PRODUCT_US_AT_FILING, 1)


def _yes(met: bool) -> str:
    return "yes" if met else "no"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--resident", type=int, default=RESIDENT)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.count, args.resident)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
