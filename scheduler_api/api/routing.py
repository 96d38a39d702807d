"""The scheduler's routers and their route class, shared by our app and by any app that
embeds the scheduler (scheduler_api.embedding).

Each route answers our domain errors itself (SchedulerRoute), with the same bodies our
app's handlers give: a host app that includes the router gets a 404 for a missing
schedule, a 409 for a taken task_id, a 503 with Retry-After, ... without any exception
handler of ours installed on it. FastAPI's own errors (422 validation, HTTPException)
are left to the app's handlers: on our app, api.error_handlers; on a host, the host's."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from scheduler_api.api.error_handlers import domain_error_handler


class SchedulerRoute(APIRoute):
    """An APIRoute whose handler turns a domain error into its HTTP answer. FastAPI keeps
    a route's class when its router is included elsewhere, so this holds on a host too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer_domain_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                handler = domain_error_handler(exc)
                if handler is None:
                    raise
                return await handler(request, exc)

        return answer_domain_errors


def resource_router(tag: str) -> APIRouter:
    """One resource's routes, with no prefix and no access rule: whoever includes them
    chooses both (our app: /scheduler and bearer tokens; a host: its own)."""
    return APIRouter(tags=[tag], route_class=SchedulerRoute)
