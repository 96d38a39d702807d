"""Drive an HTTP endpoint with N concurrent clients; collect latencies and failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import percentile


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def figures(self, prefix: str) -> dict[str, float | int]:
        return {
            f"{prefix}_requests_per_s": round(self.rate, 1),
            f"{prefix}_p50_ms": round(percentile(self.latencies, 0.5) * 1000, 1),
            f"{prefix}_p99_ms": round(percentile(self.latencies, 0.99) * 1000, 1),
            f"{prefix}_failures": self.failures,
        }


def run_concurrently(clients: int, count: int, call: Callable[[int, int], bool]) -> Load:
    """`call(client_index, request_index)` -> ok?, spread over `clients` threads."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        start_gate.wait()
        for n in range(index, count, clients):
            began = time.perf_counter()
            ok = call(index, n)
            spent = time.perf_counter() - began
            with lock:
                latencies.append(spent)
                failures[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Load(count, time.perf_counter() - began, latencies, failures[0])


def post_load(url: str, bodies: list[dict[str, Any]], clients: int) -> Load:
    sessions = [httpx.Client(timeout=60) for _ in range(clients)]
    try:
        for index, session in enumerate(sessions):  # open every connection first
            session.get(url.rsplit("/scheduler", 1)[0] + "/health")
            del index

        def call(client: int, n: int) -> bool:
            try:
                return sessions[client].post(url, json=bodies[n]).status_code == 200
            except httpx.HTTPError:
                return False

        return run_concurrently(clients, len(bodies), call)
    finally:
        for session in sessions:
            session.close()
