"""What every benchmark shares: percentiles, the machine's description, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0.5 = median, 0.99 = p99)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cores(root: Path = CGROUP_ROOT, membership: Path = Path("/proc/self/cgroup")) -> float:
    """The cores this process may use: those it may run on (its affinity), or fewer when
    its cgroup's CPU quota allows less (cgroup v2's cpu.max, v1's cfs quota), as in a
    container limited to `--cpus 1.5`. Hand-written: the standard library reads neither."""
    cores = float(len(os.sched_getaffinity(0)))
    quota = _cgroup_quota(root, membership)
    return min(cores, quota) if quota is not None else cores


def _cgroup_quota(root: Path, membership: Path) -> float | None:
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        try:
            if controllers == "":  # v2: "max 100000" or "150000 100000"
                quota, period = (root / path.lstrip("/") / "cpu.max").read_text().split()
            elif "cpu" in controllers.split(","):  # v1: -1 for none
                folder = root / "cpu" / path.lstrip("/")
                quota = (folder / "cpu.cfs_quota_us").read_text().strip()
                period = (folder / "cpu.cfs_period_us").read_text().strip()
            else:
                continue
        except (OSError, ValueError):
            continue
        if quota not in ("max", "-1"):
            return round(int(quota) / int(period), 2)
    return None


@dataclass
class Result:
    """One benchmark: what it measured, how often, the figures, and its target."""

    name: str
    measured: str
    runs: str
    figures: dict[str, float | int | str]
    target: str
    met: bool | None
    notes: str = ""
    machine: dict[str, Any] = field(default_factory=machine)
    date: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name.split('.')[0].strip().replace(' ', '_').lower()}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_module(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`python -m module args` in a process of its own (so that its figures, its RSS and
    its CPU are its own); the JSON line it prints last on stderr. Its stdout (the worker's
    JSON logs) is dropped."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        timeout=900,
        env=env,
    )
    figures: dict[str, Any] = json.loads(result.stderr.strip().splitlines()[-1])
    return figures
