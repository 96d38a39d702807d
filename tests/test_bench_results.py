"""bench/RESULTS.md is written by the bench, never by hand: a run of some benchmarks
(--only) replaces their rows and keeps the others, each saying when it was measured."""

from __future__ import annotations

from bench.run import kept_rows

OLDER = """# Benchmark results

`make bench`, 2026-11-26 17:10 UTC. Machine: 2 cores.

| benchmark | figures | target | met |
|---|---|---|---|
| 1. one (3 runs) | a 1 | t | yes |
| 10. ten (1 run) | b 2 | t | n/a |
"""


def test_rows_not_run_again_are_kept_with_when_they_were_measured() -> None:
    kept = kept_rows(OLDER, replaced={10})
    assert kept == ["| 1. one (3 runs) | a 1 | t | yes | `make bench`, 2026-11-26 17:10 UTC |"]


def test_a_row_of_the_current_shape_is_kept_as_it_is() -> None:
    current = "| 2. two (1 run) | c 3 | t | yes | `make bench`, 2026-12-01 10:00 UTC |"
    assert kept_rows(f"{current}\n", replaced={1}) == [current]
    assert kept_rows(f"{current}\n", replaced={2}) == []
