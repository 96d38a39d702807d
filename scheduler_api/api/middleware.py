"""A bad setting stops the server with one line naming it, not a traceback.

Starlette reports an exception raised while the app starts as `lifespan.startup.failed`
carrying the whole traceback, which uvicorn prints. For a ConfigurationError this
middleware sends the error's own line instead (uvicorn then prints it and exits with a
non-zero status); any other exception keeps its traceback.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler_api.config import ConfigurationError


class ConfigurationErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: Message | None = None

        async def hold_failure(message: Message) -> None:
            nonlocal held
            if message["type"] == "lifespan.startup.failed":
                held = message  # sent below, once the exception says what it was
                return
            await send(message)

        try:
            await self.app(scope, receive, hold_failure)
        except ConfigurationError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise  # uvicorn stays quiet about it: the failure is already reported
        except BaseException:
            if held is not None:
                await send(held)
            raise
        if held is not None:
            await send(held)
