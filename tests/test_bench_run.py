"""`make bench ARGS=--quick` is a smoke run: its table goes to bench/results/quick.md and
the committed bench/RESULTS.md is left alone; and a run prints progress and the table,
not the API's INFO lines. Shown through bench.run.main with a one-request benchmark of
our own (the real app on the local backend), not the benchmarks themselves."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench import common, run
from bench.common import Result
from scheduler_api.config import Settings
from scheduler_api.main import create_app
from tests.conftest import API_TOKEN

COMMITTED = "# Benchmark results\n\nthe committed table\n"


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bench/RESULTS.md and bench/results/ moved into tmp_path; LOG_LEVEL restored after."""
    monkeypatch.setattr(run, "RESULTS_FILE", tmp_path / "RESULTS.md")
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    monkeypatch.setenv("LOG_LEVEL", "INFO")  # what a shell may have; main sets its own
    (tmp_path / "RESULTS.md").write_text(COMMITTED)
    return tmp_path


def one_request(tmp_path: Path) -> Callable[[argparse.Namespace], run.Benchmarks]:
    """Benchmark "1": the app (settings from the environment, as the benchmarks build
    theirs) answering one request, which it logs at INFO."""

    def measure() -> Result:
        db = tmp_path / "s.db"
        settings = Settings(_env_file=None, backend="local", local_db_path=db, api_tokens=API_TOKEN)
        with TestClient(create_app(settings, start_engine=False)) as client:
            assert client.get("/health").status_code == 200
        return Result("1. one request", "GET /health", "1 run", {"requests": 1}, "t", None)

    return lambda args: {"1": measure}


def test_a_quick_run_writes_its_table_apart_and_leaves_results_md_alone(
    results: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--quick", "--only", "1"], one_request(results)) == 0
    assert (results / "RESULTS.md").read_text() == COMMITTED
    quick = (results / "results" / "quick.md").read_text()
    assert "| 1. one request (1 run) | requests 1 | t | n/a |" in quick
    assert 'ARGS="--quick --only 1"' in quick
    assert "[README.md](../README.md)" in quick  # bench/README.md, from bench/results/
    assert (results / "results" / "1.json").exists()  # Result.save, beside it
    capfd.readouterr()


def test_a_full_run_writes_results_md(results: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--only", "1"], one_request(results)) == 0
    written = (results / "RESULTS.md").read_text()
    assert "| 1. one request (1 run) | requests 1 | t | n/a |" in written
    assert "[README.md](README.md)" in written
    assert not (results / "results" / "quick.md").exists()
    capfd.readouterr()


def test_a_run_prints_progress_and_the_table_only(
    results: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--quick", "--only", "1"], one_request(results)) == 0
    out, err = capfd.readouterr()
    written = os.path.relpath(results / "results" / "quick.md")
    assert err.splitlines() == ["benchmark 1", "", f"Table written to {written}"]
    lines = [line for line in out.splitlines() if line]
    assert lines[0].startswith("Machine: ")
    assert lines[1:] == [
        *run.HEADER,
        "| 1. one request (1 run) | requests 1 | t | n/a | this run |",
    ]


def test_the_same_run_at_info_is_noisy_so_the_quiet_one_means_something(
    results: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--quick", "--only", "1", "--log-level", "INFO"], one_request(results)) == 0
    _, err = capfd.readouterr()
    # LOG_FORMAT is json when stderr is not a terminal, text on one: either names both.
    info_lines = [line for line in err.splitlines() if "INFO" in line and "scheduler_api" in line]
    assert info_lines
