"""/metrics: Prometheus's text format (what is counted: observability/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.auth import BearerDep, bearer_known, require_token_or_loopback
from scheduler_api.api.deps import AccessDep, RuntimeDep
from scheduler_api.observability.metrics import exposition

router = APIRouter()


async def require_scraper(request: Request, access: AccessDep, credentials: BearerDep) -> None:
    """METRICS_TOKEN or any API token; with neither configured, loopback clients only."""
    allowed = list(access.api_tokens)
    if access.metrics_token:
        allowed.append(access.metrics_token)
    require_token_or_loopback(request, access, allowed, lambda: bearer_known(credentials, allowed))


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_scraper)])
async def metrics(runtime: RuntimeDep) -> Response:
    body, content_type = await run_in_threadpool(exposition, runtime.gauges)
    return Response(body, media_type=content_type)
