"""The issue's floor (bench/sqlite_floor.py), which benchmark 13 reads times in."""

from __future__ import annotations

from bench.sqlite_floor import FLOOR_US_AT_FILING, floor_us_per_run, target_floors


def test_the_floor_commits_every_job_and_reports_its_time_per_job() -> None:
    assert floor_us_per_run(jobs=300) > 0  # it asserts, itself, that every job was done


def test_a_target_in_floors_is_its_microseconds_over_the_issues_floor() -> None:
    assert round(FLOOR_US_AT_FILING, 2) == 18.87
    assert target_floors(50) == 2.65
    assert target_floors(FLOOR_US_AT_FILING) == 1.0
