"""Who may call /scheduler: a bearer token from SCHEDULER_API_TOKENS, or, with none
configured (local development), loopback clients only."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api.schemas import ErrorResponse

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
    if credentials is None or not _known(credentials.credentials, tokens):
        raise HTTPException(
            401, "Missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


CallerDep = Depends(require_caller)
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "No tokens configured and not a loopback client"},
}
