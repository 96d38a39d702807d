"""What every benchmark shares: percentiles, the machine's description, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
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
    container limited to `--cpus 1.5`. Hand-written: the standard library reads neither.
    Anything it cannot read leaves the affinity."""
    cores = float(len(os.sched_getaffinity(0)))
    quota = _cgroup_quota(root, membership)
    return min(cores, quota) if quota is not None else cores


def _cgroup_quota(root: Path, membership: Path) -> float | None:
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            quota = _quota(root, path, _v2_quota)
        elif "cpu" in controllers.split(","):
            quota = _quota(root / "cpu", path, _v1_quota)
        else:
            continue
        if quota is not None:
            return quota
    return None


def _quota(mount: Path, path: str, read: Callable[[Path], list[str]]) -> float | None:
    """The quota in cores of the cgroup at `path` under `mount`, or of the mount itself:
    in a container the mount is already its own cgroup, while /proc/self/cgroup still
    names the host's path for it. None: no quota, or none readable."""
    for folder in (mount / path.lstrip("/"), mount):
        try:
            quota, period = read(folder)
        except OSError:
            continue  # not there: the mount itself, next
        except ValueError:
            return None  # v1's -1, or a file of another shape
        try:
            cores = int(quota) / int(period)
        except (ValueError, ZeroDivisionError):
            return None  # v2's "max": no quota
        return round(cores, 2) if cores > 0 else None
    return None


def _v2_quota(folder: Path) -> list[str]:
    return (folder / "cpu.max").read_text().split()  # "max 100000" or "150000 100000"


def _v1_quota(folder: Path) -> list[str]:
    quota = (folder / "cpu.cfs_quota_us").read_text().strip()
    if quota == "-1":
        raise ValueError("no quota")
    return [quota, (folder / "cpu.cfs_period_us").read_text().strip()]


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
    return last_json(result.stderr)


def last_json(stderr: str) -> dict[str, Any]:
    """The last line of a process's stderr that is a JSON object: its figures. What may
    follow it is not the measurement's: at interpreter exit, CPython can print an
    'Exception ignored in: <function BaseEventLoop.__del__ ...>' traceback for an event
    loop a daemon pool thread left (Mangum's, one a thread), and once that was the
    last line and a CI run failed on it."""
    for line in reversed(stderr.strip().splitlines()):
        if line.startswith("{"):
            figures: dict[str, Any] = json.loads(line)
            return figures
    raise ValueError(f"no JSON figures in the process's stderr:\n{stderr[-2000:]}")
