"""A Lambda handler for the engine's threads (LOCAL_INVOKER=thread) that runs the real
worker and remembers the event loops each invocation ran with: the invoker's own and the
one the worker set as the thread's."""

from __future__ import annotations

import asyncio
from typing import Any

from lambda_worker.handler import known_actions as known_actions  # the local POST check reads it
from lambda_worker.handler import lambda_handler
from scheduler_api.backends.local.engine import invoker
from task_contract import LambdaContext, ProxyEvent

LOOPS: list[asyncio.AbstractEventLoop] = []


def handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    LOOPS.append(invoker._thread_state.loop)  # what the invoker made for this thread
    response = lambda_handler(event, context)
    LOOPS.append(asyncio.get_event_loop())  # what the worker set as the thread's
    return response


SHARED = asyncio.new_event_loop()  # an application's loop, run on a thread of its own


def sharing_handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    """A handler of yours that makes the thread's current loop one it does not own."""
    response = lambda_handler(event, context)
    asyncio.set_event_loop(SHARED)
    return response
