"""`make bench`: every benchmark, a table at the end, JSON per benchmark in bench/results/,
and the table with the machine and date in bench/RESULTS.md (committed: the READMEs quote
figures from it, never retyped). A --quick run is a smoke run: its table goes to
bench/results/quick.md (not committed) and RESULTS.md is left as it is.

It prints progress and the table only: the API's and the worker's own INFO lines (one per
request, per task) are dropped by running everything at LOG_LEVEL=WARNING (--log-level),
in this process and in the servers the benchmarks start.

Exits non-zero only when a benchmark could not run; a missed target is reported, not fatal.

    python -m bench.run [--quick] [--steady-seconds 60] [--only 1,2,...] [--log-level WARNING]
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import common
from bench.common import Result, log, machine

RESULTS_FILE = Path(__file__).resolve().parent / "RESULTS.md"  # full runs, committed
QUICK_RESULTS_NAME = "quick.md"  # a --quick run's table, in bench/results/ (gitignored)
QUIET_LEVEL = "WARNING"

Benchmarks = dict[str, Callable[[], Result]]

# Benchmarks talk to moto with fake credentials; nothing here may reach AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.pop("AWS_PROFILE", None)


def _benchmarks(args: argparse.Namespace) -> Benchmarks:
    from bench.engine import dispatch
    from bench.finding import finding
    from bench.finding_aws import finding_aws
    from bench.index_writes import index_writes
    from bench.invokers import invokers
    from bench.package import package_size
    from bench.peers import peers
    from bench.rounds_profile import rounds_profile
    from bench.scheduling import aws_mode, local_mode
    from bench.worker import cold_start, warm_throughput
    from bench.workers import workers_bench

    scale = 4 if args.quick else 1
    return {
        "1": lambda: aws_mode(
            count=640 // scale * 2 if args.quick else 960, clients=32, delay=0.05
        ),
        "2": lambda: local_mode(count=3200 // scale, clients=32),
        "3": lambda: cold_start(processes=10 if args.quick else 15),
        "4": lambda: warm_throughput(count=2050),
        "5": lambda: dispatch(count=10_000, rate=200, seconds=args.steady_seconds),
        "6": package_size,
        "7": lambda: finding(
            count=25_000 if args.quick else 100_000, bulk=2_500 if args.quick else 10_000
        ),
        "9": lambda: workers_bench(
            sequential=100 if args.quick else 300, count=800 if args.quick else 3200
        ),
        "8": lambda: finding_aws(
            count=500 if args.quick else 2_000, bulk=50 if args.quick else 200
        ),
        "10": lambda: index_writes(creates=5 if args.quick else 20),
        "11": lambda: peers(
            count=2_000 if args.quick else 10_000,
            rates=(200, 1000),
            seconds=5 if args.quick else 30,
            repeats=1 if args.quick else 3,
        ),
        "12": lambda: invokers(count=2_500 if args.quick else 10_000, repeats=3),
        "13": lambda: rounds_profile(count=2_500 if args.quick else 10_000),
    }


def row(result: Result, measured: str) -> str:
    figures = ", ".join(f"{key} {value}" for key, value in result.figures.items())
    met = {True: "yes", False: "**no**", None: "n/a"}[result.met]
    return f"| {result.name} ({result.runs}) | {figures} | {result.target} | {met} | {measured} |"


HEADER = ["| benchmark | figures | target | met | measured |", "|---|---|---|---|---|"]


def table(results: list[Result], measured: str = "this run") -> str:
    return "\n".join([*HEADER, *(row(result, measured) for result in results)])


def _number(line: str) -> int:
    return int(line.removeprefix("| ").split(".", 1)[0])


def kept_rows(previous: str, replaced: set[int]) -> list[str]:
    """The rows of an earlier RESULTS.md for benchmarks this run did not repeat, each with
    when it was measured (a row of the older four-column table: its file's run line)."""
    stamp = next((ln for ln in previous.splitlines() if ln.startswith("`make bench")), "")
    old_when = stamp.split(". Machine")[0].rstrip(".").strip() or "an earlier run"
    kept = []
    for line in previous.splitlines():
        if not (line.startswith("| ") and line[2:3].isdigit()) or _number(line) in replaced:
            continue
        cells = line.strip().strip("|").split(" | ")
        if len(cells) == 4:
            line = f"{line} {old_when} |"
        kept.append(line)
    return kept


def results_file(quick: bool) -> Path:
    """Where a run's table goes: a smoke run's figures never replace the committed ones."""
    return common.RESULTS / QUICK_RESULTS_NAME if quick else RESULTS_FILE


def quiet_logging(level: str) -> None:
    """Only warnings and errors from the API and the worker: both read LOG_LEVEL when
    they start (create_app's lifespan, the worker's import), here and in the subprocesses
    the benchmarks launch, which inherit the environment."""
    os.environ["LOG_LEVEL"] = level.upper()


def write_results(results: list[Result], header: str, argv: list[str], path: Path) -> None:
    """What this run measured, as it printed it, to `path` (results_file). Benchmarks not
    run this time (--only) keep their earlier row, which says when it was measured."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench" + (f' ARGS="{" ".join(argv)}"' if argv else "")
    measured = f"`{command}`, {when}"
    fresh = [row(result, measured) for result in results]
    previous = path.read_text() if path.exists() else ""
    readme = Path(os.path.relpath(RESULTS_FILE.with_name("README.md"), path.parent)).as_posix()
    rows = sorted([*kept_rows(previous, {_number(r) for r in fresh}), *fresh], key=_number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Benchmark results\n\n"
        "Written by `make bench` (bench/run.py); do not edit by hand. What each benchmark\n"
        f"measures and its baseline: [README.md]({readme}).\n\n"
        f"Last run: {measured}. {header}.\n\n" + "\n".join([*HEADER, *rows]) + "\n"
    )


def main(
    argv: list[str] | None = None,
    benchmarks_for: Callable[[argparse.Namespace], Benchmarks] = _benchmarks,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--steady-seconds", type=int, default=60)
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11,12,13")
    parser.add_argument("--log-level", default=QUIET_LEVEL, help="the API's and worker's")
    args = parser.parse_args(argv)
    quiet_logging(args.log_level)  # before any benchmark imports the API or the worker
    benchmarks = benchmarks_for(args)
    results: list[Result] = []
    failed: list[str] = []
    for key in args.only.split(","):
        log(f"benchmark {key}")
        try:
            result = benchmarks[key.strip()]()
        except Exception:  # a benchmark that could not run: report it, go on, fail at the end
            traceback.print_exc()
            failed.append(key)
            continue
        result.save()
        results.append(result)
    info = machine()
    header = f"Machine: {info['cores']} cores, Python {info['python']}, {info['platform']}"
    print(f"\n{header}\n")
    print(table(results))
    path = results_file(args.quick)
    write_results(results, header, argv if argv is not None else sys.argv[1:], path)
    log(f"\nTable written to {os.path.relpath(path)}")
    if failed:
        print(f"\nCould not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
