"""One call's whole exchange with the server, without I/O: which request to send, how long
to wait before sending it again, and what the last answer means. Both clients drive this
generator (SchedulerClient with httpx.Client and time.sleep, AsyncSchedulerClient with
httpx.AsyncClient and asyncio.sleep), so the retry rules are written once.

The generator yields a Call to send (and is sent back its Answer) or a Wait to sleep
through; it returns the call's result or raises its SchedulerError.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from scheduler_client.calls import Call, read_answer
from scheduler_client.retries import RetryPolicy

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """What the I/O side hands back for a Call it sent."""

    status: int
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True)
class Wait:
    seconds: float


Exchange = Generator[Call[Any] | Wait, Answer, T]


def exchange(call: Call[T], policy: RetryPolicy) -> Exchange[T]:
    """Send `call`, again after each 429/503 the policy retries; then read the last answer.
    When an earlier attempt got a 503 (it may have applied) and the last answer is the
    call's Recovery status, the Recovery decides instead (calls.Recovery)."""
    attempt = 1
    maybe_applied = False
    while True:
        answer = yield call
        wait = policy.wait_before_retry(
            attempt=attempt,
            status=answer.status,
            headers=answer.headers,
            repeatable=call.repeatable,
        )
        if wait is None:
            break
        maybe_applied = maybe_applied or answer.status == 503
        yield Wait(wait)
        attempt += 1
    recovery = call.recovery
    if maybe_applied and recovery is not None and answer.status == recovery.status:
        if isinstance(recovery.then, Call):
            confirmed: T = yield from exchange(recovery.then, policy)
            return confirmed
        return recovery.then()
    return read_answer(call, answer.status, answer.headers, answer.content, policy.now())
