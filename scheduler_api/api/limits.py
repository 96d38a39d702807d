"""Request bodies over 64 KB are refused with 413, and JSON nested deeper than 64 levels
with 422, before anything parses them: Python's json module answers deep nesting with a
RecursionError, which FastAPI would turn into a bare 400."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler_api.observability.logging import send_error
from task_contract import MAX_DATA_DEPTH

MAX_BODY_BYTES = 64 * 1024
# Far above the depth `data` may have (the model says so, naming the field, up to here),
# far below where json.loads gives up.
MAX_JSON_NESTING = 64
_OPENERS, _CLOSERS, _QUOTE, _BACKSLASH = b"[{", b"]}", ord('"'), ord("\\")


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether JSON text opens more than `limit` arrays/objects inside one another
    (brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the usual case, counted in C
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        # Read the body first (at most max_bytes + one chunk), then replay it to the app:
        # refusing half-way through would leave FastAPI to answer 400 instead.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # a disconnect: let the app see it
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if nests_deeper_than(body, MAX_JSON_NESTING):
            why = (
                f"JSON nested deeper than {MAX_JSON_NESTING} levels"
                f" (data may nest at most {MAX_DATA_DEPTH})"
            )
            await send_error(send, 422, [{"type": "value_error", "loc": ["body"], "msg": why}])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_error(send, 413, f"Request body larger than {self.max_bytes} bytes")
