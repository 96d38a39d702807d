"""Who may call /scheduler: a bearer token from SCHEDULER_API_TOKENS, or, with none
configured (local development), loopback clients only.

The dashboard signs in once and keeps a session (api.sessions: signed with the token,
not the token) in an HttpOnly, SameSite=Strict cookie.
The cookie alone is not enough: a request must also carry the DASHBOARD_HEADER, which a
page of another site cannot set without a CORS preflight this app never grants, so a
cross-site form or link cannot act with the user's cookie (CSRF); api.csrf refuses every
cross-site change, cookie or not.

Loopback-only mode also wants a loopback name in Host: a hostile name that resolves to
127.0.0.1 (DNS rebinding) would otherwise let another site's page read and act through
the user's browser as a loopback client, its Origin matching its Host."""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api.api.schemas.errors import error_doc
from scheduler_api.api.sessions import session_valid

if TYPE_CHECKING:
    from scheduler_api.bootstrap import Runtime

SESSION_COOKIE = "scheduler_session"
DASHBOARD_HEADER = "X-Scheduler-Dashboard"

bearer = HTTPBearer(auto_error=False, description="A token from SCHEDULER_API_TOKENS")


LOOPBACK_ONLY = "No SCHEDULER_API_TOKENS are configured: only loopback clients are answered"
LOOPBACK_NAMES = "No SCHEDULER_API_TOKENS are configured: use localhost, 127.0.0.1 or [::1]"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_name(request: Request) -> bool:
    """The Host header names this machine (or PUBLIC_URL's host); absent, not a browser."""
    host = request.headers.get("host")
    if host is None:
        return True
    try:
        name = urlsplit(f"http://{host}").hostname or ""
    except ValueError:
        return False
    public: str | None = getattr(request.app.state, "public_host", None)
    return name == "localhost" or _is_loopback(name) or name == public


def require_loopback(request: Request) -> None:
    """Loopback-only mode: a loopback client, reaching us by a loopback name."""
    if not loopback(request):
        raise HTTPException(403, LOOPBACK_ONLY)
    if not _loopback_name(request):
        raise HTTPException(403, LOOPBACK_NAMES)


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
        require_loopback(request)
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
    if not session or not sent_by_dashboard:
        return False
    return session_valid(session, tokens, now_seconds(request))


def now_seconds(request: Request) -> float:
    """The app's clock (injected in tests), as a Unix time."""
    runtime: Runtime = request.app.state.runtime
    return runtime.service.clock().timestamp()


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
