"""Benchmark 11: the same workloads through our engine, APScheduler 3 and huey, in the same
run and alternating: a burst of one-time jobs due at one instant, then steady streams.
Each side runs in a process of its own (bench/peer_run.py) and counts its completions
from inside its job (bench/peer_jobs.py)."""

from __future__ import annotations

import subprocess
import sys

from bench.common import Result, last_json, log
from bench.peer_run import OVERRUN
from scheduler_api.config import Settings

SIDES = ("ours", "apscheduler", "huey")
PEERS = SIDES[1:]
Figures = dict[str, float | int]
# Every side's pool: the size of ours by default (LOCAL_CONCURRENCY).
WORKERS: int = Settings.model_fields["local_concurrency"].default


def _side_run(side: str, *args: str, tries: int = 3) -> Figures:
    """One run of `side`; tried again with a longer lead when creating the jobs overran
    the first due time (a loaded host), at 0.6 of the creation rate the runner measured."""
    lead: tuple[str, ...] = ()
    for _ in range(tries):
        command = [sys.executable, "-m", "bench.peer_run", side, *args, *lead]
        result = subprocess.run(
            [*command, "--workers", str(WORKERS)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
        )
        if result.returncode == OVERRUN:
            rate = max(1, int(last_json(result.stderr)["create_per_s"] * 0.6))
            log(f"    {side}: creating overran the due time; again with a lead for {rate}/s")
            lead = ("--create-per-s", str(rate))
            continue
        if result.returncode != 0:
            raise RuntimeError(f"bench.peer_run {side} {' '.join(args)} failed:\n{result.stderr}")
        figures: Figures = last_json(result.stderr)
        return figures
    raise RuntimeError(f"bench.peer_run {side} {' '.join(args)}: creating overran {tries} times")


def _exactly_once(run: Figures) -> bool:
    return run["ran"] == run["scheduled"] and run["ran_twice"] == run["lost"] == run["unknown"] == 0


def peers(count: int, rates: tuple[int, ...], seconds: int, repeats: int) -> Result:
    """The burst `repeats` times per side, the sides alternating (each round starting with
    the next side, so none always runs first): the median round of each. Then each stream
    once per side, alternating too."""
    bursts: dict[str, list[Figures]] = {side: [] for side in SIDES}
    for n in range(repeats):
        for side in SIDES[n % 3 :] + SIDES[: n % 3]:
            log(f"  [{n + 1}/{repeats}] {side}: a burst of {count} one-time jobs due at once")
            bursts[side].append(_side_run(side, "burst", "--count", str(count)))
    streams: dict[int, dict[str, Figures]] = {}
    for rate in rates:
        streams[rate] = {}
        for side in SIDES:
            log(f"  {side}: {rate} fires/s for {seconds} s")
            args = ("steady", "--rate", str(rate), "--seconds", str(seconds))
            streams[rate][side] = _side_run(side, *args)
    burst = {
        side: sorted(runs, key=lambda r: r["runs_per_s"])[len(runs) // 2]
        for side, runs in bursts.items()
    }
    figures: dict[str, float | int | str] = {}
    for side in SIDES:
        figures |= {
            f"{side}_burst_runs_per_s": burst[side]["runs_per_s"],
            f"{side}_burst_lateness_p50_s": burst[side]["lateness_p50_s"],
            f"{side}_burst_lateness_p99_s": burst[side]["lateness_p99_s"],
            f"{side}_burst_peak_rss_mb": burst[side]["peak_rss_mb"],
        }
        for rate in rates:
            run = streams[rate][side]
            figures |= {
                f"{side}_steady_{rate}_lateness_p50_s": run["lateness_p50_s"],
                f"{side}_steady_{rate}_lateness_p99_s": run["lateness_p99_s"],
                f"{side}_steady_{rate}_peak_rss_mb": run["peak_rss_mb"],
            }
        every = [*bursts[side], *(streams[rate][side] for rate in rates)]
        figures[f"{side}_every_fire_once"] = "yes" if all(map(_exactly_once, every)) else "no"
        figures[f"{side}_runs_counted"] = sum(r["ran"] for r in every)
        figures[f"{side}_lost_or_twice"] = sum(r["lost"] + r["ran_twice"] for r in every)
    best = max(PEERS, key=lambda peer: burst[peer]["runs_per_s"])
    for peer in PEERS:
        figures[f"burst_ratio_to_{peer}"] = round(
            burst["ours"]["runs_per_s"] / burst[peer]["runs_per_s"], 2
        )
    burst_ratio = burst["ours"]["runs_per_s"] / burst[best]["runs_per_s"]
    figures |= {"best_burst_peer": best, "burst_ratio_to_best_peer": round(burst_ratio, 2)}
    high = max(rates)
    best_p99 = min(streams[high][peer]["lateness_p99_s"] for peer in PEERS)
    ours_p99 = streams[high]["ours"]["lateness_p99_s"]
    figures[f"steady_{high}_p99_ratio_to_best_peer"] = round(ours_p99 / max(best_p99, 1e-3), 2)
    met = figures["ours_every_fire_once"] == "yes" and burst_ratio >= 1.5 and ours_p99 <= best_p99
    return Result(
        name="11. peers: APScheduler 3 and huey",
        measured=(
            "the same jobs through our engine (HTTP-created one-time schedules, a trivial"
            " Lambda-shaped handler), APScheduler 3.11 (SQLAlchemyJobStore, SQLite WAL) and"
            " huey (SqliteHuey, thread consumer), each with a pool of LOCAL_CONCURRENCY;"
            " runs counted from inside each job"
        ),
        runs=(
            f"burst of {count}: median of {repeats} rounds per side, alternating; steady"
            f" {' and '.join(f'{r}/s' for r in rates)} for {seconds} s, once per side, alternating"
        ),
        figures=figures,
        target=(
            f"our burst >= 1.5x the best peer's; steady {high}/s p99 lateness <= the best"
            " peer's; every fire run once, none lost, counted from the job's side"
        ),
        met=met,
    )
