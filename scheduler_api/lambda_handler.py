"""The scheduler API on Lambda: `scheduler_api.lambda_handler.handler`, behind a function URL
with `AuthType: AWS_IAM` (the template's optional ApiFunction, docs/deploy.md).

Lambda checks the caller's SigV4 signature before the event reaches the function, and only
then puts `requestContext.authorizer.iam` into it. The signature takes the Authorization
header, so no bearer token can travel with it: for such a request the adapter presents the
API's own first SCHEDULER_API_TOKENS entry on the caller's behalf, so IAM is the gate and the
API's one access rule (api/auth.py) still holds. Any other request (another event source, a
URL with AuthType NONE) goes through unchanged and needs a bearer token of its own. Whoever
may call lambda:InvokeFunction on this function directly can write that event field too,
so that permission is trusted like lambda:InvokeFunctionUrl.

Mangum runs the app's lifespan around each invocation: settings and clients are read then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mangum import Mangum
from starlette.types import ASGIApp, Receive, Scope, Send

from scheduler_api.config import load_settings
from scheduler_api.main import app


def signed_by_iam(event: Any) -> bool:
    """True when Lambda verified the caller's IAM signature (function URL, AWS_IAM)."""
    if not isinstance(event, dict):
        return False
    authorizer = event.get("requestContext", {}).get("authorizer") or {}
    return isinstance(authorizer, dict) and bool(authorizer.get("iam"))


class IamSignedCaller:
    """Stands the API's own token in for an IAM-verified caller's Authorization header."""

    def __init__(self, inner: ASGIApp, token: Callable[[], str | None]) -> None:
        self.inner = inner
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and signed_by_iam(scope.get("aws.event")):
            token = self.token()
            if token:
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
                headers.append((b"authorization", f"Bearer {token}".encode()))
                scope = {**scope, "headers": headers}
        await self.inner(scope, receive, send)


def first_token() -> str | None:
    tokens = load_settings().tokens
    return tokens[0] if tokens else None


handler = Mangum(IamSignedCaller(app, first_token), lifespan="auto")
