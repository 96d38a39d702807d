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

The app's lifespan (settings, AWS clients, the index) is entered once per cold start, not
around each invocation as Mangum's `lifespan="auto"` would, which rebuilt every client on
every request. The token presented for IAM callers is read once per cold start too (Lambda's
environment does not change during an execution environment's life). Each IAM-verified
request is logged at INFO with its caller's ARN (never a header or token), so CloudWatch
says who called. Any event shape is tolerated: a forged `requestContext` that is not an
object is simply not an IAM-verified request.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mangum import Mangum
from starlette.types import ASGIApp, Receive, Scope, Send

from scheduler_api.config import load_settings
from scheduler_api.main import app

logger = logging.getLogger("scheduler_api.lambda")


def iam_caller(event: Any) -> dict[str, Any] | None:
    """`requestContext.authorizer.iam` when Lambda verified the caller's IAM signature
    (function URL, AWS_IAM); None for any other event, whatever its shape."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    caller = authorizer.get("iam") if isinstance(authorizer, dict) else None
    return caller if isinstance(caller, dict) and caller else None


def signed_by_iam(event: Any) -> bool:
    """True when Lambda verified the caller's IAM signature (function URL, AWS_IAM)."""
    return iam_caller(event) is not None


class IamSignedCaller:
    """Stands the API's own token in for an IAM-verified caller's Authorization header."""

    def __init__(self, inner: ASGIApp, token: Callable[[], str | None]) -> None:
        self.inner = inner
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = iam_caller(scope.get("aws.event")) if scope["type"] == "http" else None
        if caller is not None:
            logger.info(
                "IAM caller %s: %s %s",
                caller.get("userArn", "(no userArn)"),
                scope.get("method"),
                scope.get("path"),
                extra={"caller_arn": caller.get("userArn")},
            )
            token = self.token()
            if token:
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
                headers.append((b"authorization", f"Bearer {token}".encode()))
                scope = {**scope, "headers": headers}
        await self.inner(scope, receive, send)


@functools.cache
def first_token() -> str | None:
    """The first SCHEDULER_API_TOKENS entry, read once per cold start (not per request)."""
    tokens = load_settings().tokens
    return tokens[0] if tokens else None


adapter = Mangum(IamSignedCaller(app, first_token), lifespan="off")  # ColdStart enters it
MALFORMED = {
    "statusCode": 400,
    "headers": {"content-type": "application/json"},
    "body": json.dumps({"detail": "malformed event: requestContext is not an object"}),
    "isBase64Encoded": False,
}


class ColdStart:
    """One event loop and one entry of the app's lifespan per execution environment.

    Mangum asks for `asyncio.get_event_loop()`, which raises once asyncio.run() has run in
    this thread (it leaves no loop set) and, from Python 3.14, whenever none is set; so one
    loop is kept and set before each call. (The worker does the same in
    lambda_worker.handler: the two services share no code but task_contract.) The app's
    lifespan is entered on that loop at the first invocation and left entered: Lambda
    freezes or ends the environment, and on AWS there is no engine to stop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: AbstractAsyncContextManager[Any] | None = None

    def prepare(self) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        if self._lifespan is None:
            lifespan = app.router.lifespan_context(app)
            self._loop.run_until_complete(lifespan.__aenter__())  # raises: the next one retries
            self._lifespan = lifespan

    def end(self) -> None:
        """Leave the lifespan (tests: the next invocation is a cold start again)."""
        first_token.cache_clear()
        if self._lifespan is not None and self._loop is not None:
            lifespan, self._lifespan = self._lifespan, None
            self._loop.run_until_complete(lifespan.__aexit__(None, None, None))


cold_start = ColdStart()


def handler(event: Any, context: Any) -> Any:
    """Mangum's handler, after refusing an event whose requestContext is not an object
    (Mangum itself would raise TypeError on one)."""
    if isinstance(event, dict) and not isinstance(event.get("requestContext", {}), dict):
        logger.warning("refused an event whose requestContext is not an object")
        return MALFORMED
    cold_start.prepare()
    return adapter(event, context)
