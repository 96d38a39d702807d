"""No state-changing request is accepted from another site's page, in any mode (CSRF).

A page on another origin, even another port of localhost, may send "simple" requests
without a CORS preflight: a bodyless `fetch(url, {method: "POST", mode: "no-cors"})` is
one (DESIGN.md fact 23). With no SCHEDULER_API_TOKENS, such a request from the user's own
browser comes from a loopback client and was answered. Browsers say where a request
comes from: every request they send but GET/HEAD carries `Origin` (`null` from a file
or a sandboxed frame), and current ones add `Sec-Fetch-Site`. So any method but GET,
HEAD and OPTIONS is refused when

- `Sec-Fetch-Site` is present and is not `same-origin` or `none` (`same-site` is refused:
  localhost:3000 and localhost:8000 are the same site), or
- `Origin` is present and is neither this server's own origin (the request's scheme
  and Host) nor PUBLIC_URL's.

Clients that send neither (curl, Python, the Lambda worker) are not browsers and are
unaffected. A browser page whose name resolves to 127.0.0.1 (DNS rebinding) does match
its own Host: api.auth answers loopback-only mode on loopback host names only.
Bodies must be JSON: FastAPI (strict_content_type, on by default) refuses a JSON body
sent as text/plain or with no Content-Type, so a form cannot smuggle one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from scheduler_api.observability.logging import send_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})  # none: the user typed the URL
REFUSED = (
    "Cross-site request refused: changes are accepted from this server's own pages"
    " or from clients that are not browsers"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host:port`, lower-case, with the default port written out; None when the
    text is not a URL with a host (which no origin we accept is)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{scheme}://{parts.hostname}:{port or _DEFAULT_PORTS[scheme]}"


def own_origin(scope: Scope, headers: Headers) -> str | None:
    host = headers.get("host")
    return origin_of(f"{scope.get('scheme', 'http')}://{host}") if host else None


def cross_site(scope: Scope, public_origin: str | None) -> bool:
    """Whether a browser says this request comes from a page of another origin."""
    headers = Headers(scope=scope)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCHES:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False  # not a browser: no page is acting on anyone's behalf
    allowed = {own_origin(scope, headers), public_origin} - {None}
    return origin_of(origin) not in allowed  # `null` is no URL: refused


class CrossSiteGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        public_origin: str | None = getattr(state, "public_origin", None)
        if cross_site(scope, public_origin):
            await send_error(send, 403, REFUSED)
            return
        await self.app(scope, receive, send)
