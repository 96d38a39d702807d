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
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api.api.deps import Access, AccessDep, ClockDep
from scheduler_api.api.schemas.error_docs import error_doc
from scheduler_api.api.sessions import session_valid

SESSION_COOKIE = "scheduler_session"
DASHBOARD_HEADER = "X-Scheduler-Dashboard"

bearer = HTTPBearer(auto_error=False, description="A token from SCHEDULER_API_TOKENS")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


LOOPBACK_ONLY = "No SCHEDULER_API_TOKENS are configured: only loopback clients are answered"
LOOPBACK_NAMES = "No SCHEDULER_API_TOKENS are configured: use localhost, 127.0.0.1 or [::1]"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_name(request: Request, public_host: str | None) -> bool:
    """The Host header names this machine (or PUBLIC_URL's host); absent, not a browser."""
    host = request.headers.get("host")
    if host is None:
        return True
    try:
        name = urlsplit(f"http://{host}").hostname or ""
    except ValueError:
        return False
    return name == "localhost" or _is_loopback(name) or name == public_host


def require_token_or_loopback(
    request: Request, access: Access, tokens: list[str], presented: Callable[[], bool]
) -> None:
    """The one access rule of the API, /metrics and the dashboard: with no `tokens`
    configured, loopback clients only, reaching us by a loopback name (403); otherwise
    `presented()` must hold (a known bearer token, the dashboard's session), else 401."""
    if not tokens:
        if not loopback(request):
            raise HTTPException(403, LOOPBACK_ONLY)
        if not _loopback_name(request, access.public_host):
            raise HTTPException(403, LOOPBACK_NAMES)
        return
    if not presented():
        raise HTTPException(
            401, "Missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def _known(given: str, tokens: list[str]) -> bool:
    """Compares with every token in constant time, without stopping at a match."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found


def bearer_known(credentials: HTTPAuthorizationCredentials | None, tokens: list[str]) -> bool:
    return credentials is not None and token_known(credentials.credentials, tokens)


async def require_caller(
    request: Request, access: AccessDep, clock: ClockDep, credentials: BearerDep
) -> None:
    """A token from SCHEDULER_API_TOKENS, or the dashboard's session."""
    tokens = access.api_tokens
    require_token_or_loopback(
        request,
        access,
        tokens,
        lambda: (
            bearer_known(credentials, tokens)
            or dashboard_session_valid(request, tokens, clock().timestamp())
        ),
    )


def dashboard_session_valid(request: Request, tokens: list[str], now_seconds: float) -> bool:
    """The dashboard's cookie, sent with its header (see the module's docstring)."""
    session = request.cookies.get(SESSION_COOKIE)
    sent_by_dashboard = request.headers.get(DASHBOARD_HEADER) == "1"
    if not session or not sent_by_dashboard:
        return False
    return session_valid(session, tokens, now_seconds)


def token_known(given: str, tokens: list[str]) -> bool:
    return bool(given) and _known(given, tokens)


def loopback(request: Request) -> bool:
    return _is_loopback(request.client.host if request.client else "")


# What our app documents on each /scheduler route (an embedding host documents its own).
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_doc("Missing or invalid bearer token"),
    403: error_doc("No tokens configured and not a loopback client"),
}
