"""Who may call /scheduler: a bearer token from SCHEDULER_API_TOKENS, or, with none
configured (local development), loopback clients only."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api.schemas import error_doc

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
