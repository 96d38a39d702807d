"""Who may call /scheduler: a bearer token from SCHEDULER_API_TOKENS, or, with none
configured (local development), loopback clients only.

The dashboard signs in once and keeps the token in an HttpOnly, SameSite=Strict cookie.
The cookie alone is not enough: a request must also carry the DASHBOARD_HEADER, which a
page of another site cannot set without a CORS preflight this app never grants, so a
cross-site form or link cannot act with the user's cookie (CSRF)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api.schemas import error_doc

SESSION_COOKIE = "scheduler_session"
DASHBOARD_HEADER = "X-Scheduler-Dashboard"

bearer = HTTPBearer(auto_error=False, description="A token from SCHEDULER_API_TOKENS")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _known(given: str, tokens: list[str]) -> bool:
    """Compares with every token in constant time, without stopping at a match."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found


async def require_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    tokens: list[str] = request.app.state.api_tokens
    if not tokens:
        host = request.client.host if request.client else ""
        if not _is_loopback(host):
            raise HTTPException(
                403, "No SCHEDULER_API_TOKENS are configured: only loopback clients are answered"
            )
        return
    if credentials is not None and _known(credentials.credentials, tokens):
        return
    if not dashboard_session_valid(request, tokens):
        raise HTTPException(
            401, "Missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def dashboard_session_valid(request: Request, tokens: list[str]) -> bool:
    """The dashboard's cookie, sent with its header (see the module's docstring)."""
    session = request.cookies.get(SESSION_COOKIE)
    sent_by_dashboard = request.headers.get(DASHBOARD_HEADER) == "1"
    return bool(session) and sent_by_dashboard and _known(str(session), tokens)


def token_known(given: str, tokens: list[str]) -> bool:
    return bool(given) and _known(given, tokens)


def loopback(request: Request) -> bool:
    return _is_loopback(request.client.host if request.client else "")


def protected_router(tag: str) -> APIRouter:
    """A /scheduler router whose every route needs a caller (and documents 401/403)."""
    responses: dict[int | str, dict[str, Any]] = {
        401: error_doc("Missing or invalid bearer token"),
        403: error_doc("No tokens configured and not a loopback client"),
    }
    return APIRouter(
        prefix="/scheduler",
        tags=[tag],
        dependencies=[Depends(require_caller)],
        responses=responses,
    )
