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
