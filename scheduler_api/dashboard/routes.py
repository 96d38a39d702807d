"""/dashboard: the page, its assets, and signing in (a cookie; see api.auth)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import Scope

from scheduler_api.api.auth import (
    DASHBOARD_HEADER,
    SESSION_COOKIE,
    dashboard_session_valid,
    require_token_or_loopback,
    token_known,
)
from scheduler_api.api.deps import Access, AccessDep, ClockDep
from scheduler_api.api.sessions import SESSION_SECONDS, issue_session

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"  # the page's assets only: the page itself has one URL, /dashboard
PAGE = (HERE / "page.html").read_text(encoding="utf-8")  # read once, not per request
# No inline script or style, nothing from another origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)
root = APIRouter(include_in_schema=False)


@root.get("/")
async def to_the_dashboard() -> RedirectResponse:
    """A browser pointed at the server lands on the dashboard (307: a GET stays a GET)."""
    return RedirectResponse("/dashboard", status_code=307)


class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=1024)


def _allowed_here(request: Request, access: Access) -> None:
    """With no tokens configured, loopback clients only, as the API; with tokens, anyone
    may load the page and sign in (it presents nothing yet)."""
    require_token_or_loopback(request, access, access.api_tokens, lambda: True)


def _from_dashboard(request: Request) -> None:
    if request.headers.get(DASHBOARD_HEADER) != "1":
        raise HTTPException(403, f"send the {DASHBOARD_HEADER} header")


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _limit_guesses(request: Request, access: Access, now_seconds: float) -> None:
    """A few wrong tries per client, then one every few seconds (429, Retry-After)."""
    wait = access.sign_in_limiter.take(_client(request), now_seconds)
    if wait > 0:
        raise HTTPException(
            429, "Too many sign-in attempts: wait and try again",
            headers={"Retry-After": str(math.ceil(wait))},
        )  # fmt: skip


@router.get("", response_class=HTMLResponse)
async def page(request: Request, access: AccessDep) -> HTMLResponse:
    _allowed_here(request, access)
    return HTMLResponse(PAGE, headers=SECURITY_HEADERS)


@router.get("/session")
async def session(request: Request, access: AccessDep, clock: ClockDep) -> dict[str, Any]:
    _allowed_here(request, access)
    tokens = access.api_tokens
    signed_in = not tokens or dashboard_session_valid(request, tokens, clock().timestamp())
    return {"tokens_required": bool(tokens), "signed_in": signed_in}


@router.post("/session")
async def sign_in(
    request: Request, body: SignIn, response: Response, access: AccessDep, clock: ClockDep
) -> dict[str, Any]:
    _allowed_here(request, access)
    _from_dashboard(request)
    # spent before the check, so concurrent guesses count too
    _limit_guesses(request, access, clock().timestamp())
    if not token_known(body.token, access.api_tokens):
        raise HTTPException(401, "That token is not one of SCHEDULER_API_TOKENS")
    access.sign_in_limiter.refund(_client(request))
    response.set_cookie(
        SESSION_COOKIE,
        issue_session(body.token, clock().timestamp()),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"tokens_required": True, "signed_in": True}


@router.delete("/session")
async def sign_out(request: Request, response: Response) -> dict[str, Any]:
    _from_dashboard(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return {"signed_in": False}


class _Assets(StaticFiles):
    """The page's script and style, with the page's headers (nosniff matters for them)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def install_dashboard(app: FastAPI) -> None:
    app.include_router(root)
    app.include_router(router)
    app.mount("/dashboard/static", _Assets(directory=STATIC), name="dashboard-static")
