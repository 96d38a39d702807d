"""Prometheus metrics at /metrics (prometheus-client).

Counters and histograms live in prometheus-client's default registry, made once per
process. Under `uvicorn --workers N`, set PROMETHEUS_MULTIPROC_DIR to an empty directory
before starting: prometheus-client then keeps each process's values in files there, and
/metrics sums them across processes (its multiprocess mode). Without it, each process
answers with its own counts (whichever one the scrape reaches).

The gauges of the local engine's state (dead letters, due backlog) are read from the
SQLite file at scrape time (backends/local/stats.py, handed in by bootstrap as a callable:
this module imports no backend), so every process reports the same, true figure;
scheduler_engine_up is the answering process's own engine.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from task_contract import RunStatus

P = ParamSpec("P")
R = TypeVar("R")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# Every label value comes from a bounded set: h11 accepts any token as a method (DESIGN.md
# fact 23), so a raw method label would let any client add series without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


@dataclass(frozen=True)
class Instruments:
    requests: Counter
    request_seconds: Histogram
    backend_seconds: Histogram
    backend_errors: Counter
    fires: Counter
    runs: Counter
    retries: Counter
    lateness: Histogram
    rounds: Counter


@functools.cache
def instruments() -> Instruments:
    """The process's metrics, made on first use rather than at import: in multiprocess
    mode making one opens a file in PROMETHEUS_MULTIPROC_DIR, and a bad directory must be
    the settings' one-line error at start-up (create_app's lifespan checks it first), not
    an import traceback that `--workers N` restarts for ever."""
    return Instruments(
        requests=Counter(
            "scheduler_api_requests_total", "HTTP requests by route template and status",
            ["method", "route", "status"],
        ),
        request_seconds=Histogram(
            "scheduler_api_request_seconds", "HTTP request latency by route template",
            ["method", "route"], buckets=LATENCY_BUCKETS,
        ),
        backend_seconds=Histogram(
            "scheduler_backend_call_seconds", "Backend call latency by operation",
            ["operation"], buckets=LATENCY_BUCKETS,
        ),
        backend_errors=Counter(
            "scheduler_backend_errors_total",
            "Backend calls that raised, by operation and error", ["operation", "error"],
        ),
        fires=Counter(
            "scheduler_fires_total", "Scheduled times the local engine fired (first attempts)"
        ),
        runs=Counter(
            "scheduler_runs_total", "Finished attempts of the local engine, by status",
            ["status"],
        ),
        retries=Counter("scheduler_retries_total", "Attempts that raised and will be retried"),
        lateness=Histogram(
            "scheduler_fire_lateness_seconds", "How late a fire started after its scheduled time",
            buckets=LATENESS_BUCKETS,
        ),
        rounds=Counter(
            "scheduler_engine_rounds_total",
            "Rounds the local engine completed (each one write transaction of the file)",
        ),
    )  # fmt: skip


class EngineMetrics:
    """What the local engine reports as it runs (its observer)."""

    def fired(self, lateness_seconds: float) -> None:
        instruments().fires.inc()
        instruments().lateness.observe(max(0.0, lateness_seconds))

    def round_completed(self) -> None:
        instruments().rounds.inc()

    def finished(self, status: RunStatus) -> None:
        instruments().runs.labels(status=str(status)).inc()
        if status == RunStatus.RETRYING:
            instruments().retries.inc()


@contextmanager
def backend_call(operation: str) -> Iterator[None]:
    """Time one backend call and count it if it raises, by operation."""
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        instruments().backend_errors.labels(operation=operation, error=type(exc).__name__).inc()
        raise
    finally:
        instruments().backend_seconds.labels(operation=operation).observe(
            time.perf_counter() - started
        )


def metered(prefix: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A backend method, measured as backend_call(f"{prefix}.{its name}")."""

    def decorate(call: Callable[P, R]) -> Callable[P, R]:
        operation = f"{prefix}.{call.__name__}"

        @functools.wraps(call)
        def measured(*args: P.args, **kwargs: P.kwargs) -> R:
            with backend_call(operation):
                return call(*args, **kwargs)

        return measured

    return decorate


@dataclass(frozen=True)
class EngineGauges:
    """The local engine's state at scrape time, as plain numbers."""

    dead_letters: int  # not redriven
    due_backlog: int  # fires and attempts that are due and not yet claimed
    engine_up: bool  # this process's engine loop runs and completes rounds


class EngineGaugeCollector(Collector):
    """Gauges read when scraped, from `read` (bootstrap's: the SQLite file's figures and
    the engine's own loop)."""

    def __init__(self, read: Callable[[], EngineGauges]) -> None:
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauges = self.read()
        yield GaugeMetricFamily(
            "scheduler_dead_letters", "Dead letters not redriven", gauges.dead_letters
        )
        yield GaugeMetricFamily(
            "scheduler_due_backlog",
            "Fires and attempts that are due and not yet claimed",
            gauges.due_backlog,
        )
        yield GaugeMetricFamily(
            "scheduler_engine_up", "1 while this process's engine loop runs and completes rounds",
            1.0 if gauges.engine_up else 0.0,
        )  # fmt: skip


def exposition(extra: Collector | None) -> tuple[bytes, str]:
    """The text format: this process's (or, in multiprocess mode, every process's)
    counters and histograms, and the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Default(Collector):
    """The default registry's metrics, inside a registry of this scrape's own."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix it was included under, e.g.
    /scheduler/schedule/{arn:path}: FastAPI gives `scope["route"]` as the route was
    declared (/schedule/{arn:path}), and the prefix is a router's, given at include time.
    The prefix is the raw path before the longest tail the route matches: a piece of
    the literal prefix, so the labels stay bounded. "unmatched" when no route matched."""
    route = scope.get("route")
    declared = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not declared:
        return "unmatched"
    path = str(scope.get("path", ""))
    if pattern is not None:
        for cut in (i for i, char in enumerate(path) if char == "/"):
            if pattern.match(path[cut:]):
                return path[:cut] + str(declared)
    return str(declared)


class RequestMetricsMiddleware:
    """Counts and times each HTTP request by its route template (never the raw path: an
    ARN in the path would make a series per schedule)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            template = route_template(scope)
            method = method_label(str(scope.get("method", "")))
            measured = instruments()
            measured.requests.labels(
                method=method, route=template, status=status_label(status)
            ).inc()
            measured.request_seconds.labels(method=method, route=template).observe(
                time.perf_counter() - started
            )


def method_label(method: str) -> str:
    """The method as counted: one of KNOWN_METHODS, or `other`."""
    return method if method in KNOWN_METHODS else OTHER


def status_label(status: int) -> str:
    """An HTTP status code (100-599), or `other`: the app sends only those, but the label
    stays bounded whatever an inner layer sends."""
    return str(status) if 100 <= status <= 599 else OTHER
