"""/metrics: Prometheus's text format (what is counted: observability/metrics.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.auth import bearer, require_loopback, token_known
from scheduler_api.bootstrap import Runtime
from scheduler_api.observability.metrics import EngineGaugeCollector, exposition

router = APIRouter()


async def require_scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """METRICS_TOKEN or any API token; with neither configured, loopback clients only."""
    allowed: list[str] = list(request.app.state.api_tokens)
    if request.app.state.metrics_token:
        allowed.append(request.app.state.metrics_token)
    if not allowed:
        require_loopback(request)
        return
    if credentials is None or not token_known(credentials.credentials, allowed):
        raise HTTPException(
            401, "Missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_scraper)])
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    collector = None
    if runtime.engine_gauges is not None:
        collector = EngineGaugeCollector(runtime.engine_gauges)
    body, content_type = await run_in_threadpool(exposition, collector)
    return Response(body, media_type=content_type)
