"""What the app runs on, as the HTTP layer sees it: the service, and what the backend
keeps beside it (runs, dead letters, the local engine), each typed by the small
interface of domain.ports that the routes use. bootstrap builds it from settings, by
keyword; api.deps hands its parts to the routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scheduler_api.domain.ports import Engine, RunHistory, RunsReader, Store
from scheduler_api.observability.metrics import EngineGaugeCollector
from scheduler_api.services.aws_service import AwsService


@dataclass(frozen=True, kw_only=True)
class Runtime:
    service: AwsService
    runs: RunsReader | None = None  # the local engine's executions, or the AWS ledger
    history: RunHistory | None = None  # local only: the last hour's runs, dead letters
    engine: Engine | None = None  # local only
    database: Store | None = None  # local only: the engine's SQLite file
    count_broken: Callable[[], int] | None = None  # local only: schedules set aside
    gauges: EngineGaugeCollector | None = None  # local only: metrics read when scraped
