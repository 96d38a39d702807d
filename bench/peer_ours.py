"""Benchmark 11, our side: the app as `make run` serves it (create_app: the embedded local
engine started by its lifespan, its SQLite file, LOCAL_CONCURRENCY pool threads), each
one-time schedule created through the HTTP API (POST /scheduler/schedule over in-process
ASGI, a few requests in flight) before its due time, fired into the trivial Lambda-shaped
handler `bench.peer_jobs.handler`."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench import peer_jobs
from scheduler_api.config import Settings
from scheduler_api.main import create_app

TOKEN = "bench-peer-token-0123456789"  # noqa: S105 - the in-process app's own, made up
IN_FLIGHT = 8  # concurrent POSTs: creating is not what is measured, only bounded in time


async def _create_all_and_wait(
    settings: Settings, due: dict[str, datetime], timeout: float
) -> float:
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # starts the engine, stops it after
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        limit = asyncio.Semaphore(IN_FLIGHT)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:

            async def post(key: str, when: datetime) -> None:
                body = {"task_id": key, "user_id": 1, "action": "bench", "data": {}}
                async with limit:
                    response = await client.post(
                        "/scheduler/schedule", json=body | {"run_at": when.isoformat()},
                        headers=headers,
                    )  # fmt: skip
                response.raise_for_status()

            await asyncio.gather(*(post(key, when) for key, when in due.items()))
        created = time.time()
        await asyncio.to_thread(peer_jobs.wait_for, len(due), timeout)
    return created  # the lifespan stopped the engine, its pool drained


def run(due: dict[str, datetime], workdir: Path, workers: int, timeout: float) -> float:
    """Creates every schedule, waits for every run; returns when creating them ended."""
    settings = Settings(
        _env_file=None,
        backend="local",
        local_db_path=workdir / "scheduler.db",
        local_concurrency=workers,
        local_lambda_handler="bench.peer_jobs.handler",
        api_tokens=TOKEN,
        log_level="WARNING",
    )
    return asyncio.run(_create_all_and_wait(settings, due, timeout))
