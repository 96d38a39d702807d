"""Signs a schedule's Input so the worker can tell it came from this service."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

SIGNATURE_HEADER = "X-Scheduler-Signature"


def sign_event(event: dict[str, Any], secret: str, timestamp: int) -> None:
    """Add `t=<timestamp>,v1=<HMAC-SHA256("<t>.<body>")>` to the event's headers."""
    body = (event.get("body") or "").encode()
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    value = f"t={timestamp},v1={digest.hexdigest()}"
    event["headers"][SIGNATURE_HEADER] = value
    event["multiValueHeaders"][SIGNATURE_HEADER] = [value]
