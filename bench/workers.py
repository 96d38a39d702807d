"""Benchmark 9: several worker processes (make run WORKERS=N, scripts/serve.py), local mode.

Sequential keep-alive POSTs from one client show the per-request cost (the ~40 ms that
`uvicorn --workers N` adds, uvicorn issue #3149, is measured beside ours); 32 concurrent
clients show the throughput. N=1 and N=2 in the same run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import Result, log, percentile
from bench.lean_load import lean_post_load
from bench.scheduling import bodies
from tests.support.processes import ROOT, base_env, free_port, running


@contextmanager
def server(workers: int, temp: Path, *, ours: bool = True) -> Iterator[str]:
    port = free_port()
    if ours:
        launcher = [sys.executable, str(ROOT / "scripts" / "serve.py")]
    else:  # the defect: uvicorn's own --workers
        launcher = [sys.executable, "-m", "uvicorn", "scheduler_api.main:app"]
    args = [
        *launcher, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    db = temp / f"s-{port}.db"
    env = {
        **base_env(),
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(db),
        "LOG_LEVEL": "WARNING",  # no tokens: loopback clients, as the other benchmarks
    }
    with running(args, f"http://127.0.0.1:{port}/health", env, temp):
        yield f"http://127.0.0.1:{port}"


def sequential_p50_ms(url: str, count: int, prefix: str) -> float:
    requests = bodies(count + 20, prefix)
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:  # one keep-alive connection
        for body in requests[:20]:
            client.post("/scheduler/schedule", json=body)
        for body in requests[20:]:
            started = time.perf_counter()
            response = client.post("/scheduler/schedule", json=body)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return percentile(latencies, 0.5) * 1000


def workers_bench(sequential: int = 300, count: int = 3200, clients: int = 32) -> Result:
    figures: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory() as temp:
        for n in (1, 2):
            with server(n, Path(temp)) as url:
                log(f"  WORKERS={n}: {sequential} sequential keep-alive POSTs")
                figures[f"n{n}_sequential_p50_ms"] = round(
                    sequential_p50_ms(url, sequential, f"seq{n}"), 2
                )
                log(f"  WORKERS={n}: {count} POSTs from {clients} clients")
                warm = [{**b, "task_id": f"w{n}-{b['task_id']}"} for b in bodies(clients, "w")]
                lean_post_load(f"{url}/scheduler/schedule", warm, clients)
                load = lean_post_load(
                    f"{url}/scheduler/schedule", bodies(count, f"load{n}"), clients
                )
                figures[f"n{n}_requests_per_s"] = round(load.rate, 1)
                figures[f"n{n}_failures"] = load.failures
        with server(2, Path(temp), ours=False) as url:
            log("  uvicorn --workers 2 (for comparison): sequential keep-alive POSTs")
            figures["uvicorn_workers2_sequential_p50_ms"] = round(
                sequential_p50_ms(url, sequential, "uv"), 2
            )
    latency_ratio = float(figures["n2_sequential_p50_ms"]) / float(figures["n1_sequential_p50_ms"])
    rate_ratio = float(figures["n2_requests_per_s"]) / float(figures["n1_requests_per_s"])
    figures["sequential_p50_ratio_n2_to_n1"] = round(latency_ratio, 2)
    figures["throughput_ratio_n2_to_n1"] = round(rate_ratio, 2)
    return Result(
        name="9. several worker processes (make run WORKERS=N)",
        measured=(
            "POST /scheduler/schedule, local mode, scripts/serve.py with 1 and 2 processes;"
            " sequential keep-alive from one client, then 32 concurrent clients"
        ),
        runs=f"{sequential} sequential and {count} concurrent requests per N",
        figures=figures,
        target="sequential p50 with N=2 <= 1.5x N=1; throughput with N=2 >= 1.5x N=1",
        met=latency_ratio <= 1.5 and rate_ratio >= 1.5,
    )
