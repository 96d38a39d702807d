"""What both clients are built from: the base URL, the bearer token (an argument, else
SCHEDULER_API_TOKEN), the timeout and the retry policy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from scheduler_client.calls import Call
from scheduler_client.errors import TransportError
from scheduler_client.retries import RetryPolicy

TOKEN_VARIABLE = "SCHEDULER_API_TOKEN"  # noqa: S105 - the name of the variable
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "scheduler-client/0.1"


@dataclass(frozen=True)
class Connection:
    base_url: str
    token: str | None
    timeout: httpx.Timeout
    retry: RetryPolicy

    @classmethod
    def of(
        cls,
        base_url: str,
        token: str | None,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | None,
    ) -> Connection:
        """No token given and none in the environment: no Authorization header (a server
        without SCHEDULER_API_TOKENS answers loopback clients only)."""
        resolved = token if token is not None else os.environ.get(TOKEN_VARIABLE) or None
        limits = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        return cls(base_url.rstrip("/"), resolved, limits, retry or RetryPolicy())

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments of httpx.Client and httpx.AsyncClient alike."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {"base_url": self.base_url, "headers": headers, "timeout": self.timeout}


def request_options(call: Call[Any]) -> dict[str, Any]:
    """The keyword arguments of one `request(...)` for the call."""
    options: dict[str, Any] = {"params": call.params, "headers": call.headers}
    if call.body is not None:
        options["json"] = call.body
    return options


def no_answer(call: Call[Any], error: httpx.TransportError) -> TransportError:
    """The error for a call that got no answer: its kind, not the socket's text."""
    return TransportError(f"{call.method} {call.path}: no answer ({type(error).__name__})")
