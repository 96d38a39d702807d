"""One CloudWatch embedded-metric-format (EMF) line per invocation: CloudWatch turns it into
metrics from the log, so Lambda users get duration and lateness by action and outcome with
no extra dependency and no API call. The format is AWS's (a JSON object with an `_aws`
member naming the namespace, dimensions and metrics), printed alone on its line."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from task_contract import (
    SCHEDULED_TIME_HEADER,
    SKIPPED_HEADER,
    ProxyEvent,
    parse_scheduled_time,
)


def outcome_of(status_code: int, headers: dict[str, Any]) -> str:
    if status_code >= 500:
        return "failed"  # raised: Lambda retries it
    if status_code >= 400:
        return "refused"  # 4xx: not retried (unknown action, bad signature, a duplicate)
    return "skipped" if _header(headers, SKIPPED_HEADER) else "succeeded"


def emf_line(
    namespace: str,
    *,
    action: str,
    outcome: str,
    duration_ms: float,
    lateness_s: float | None,
    now_ms: int | None = None,
) -> str:
    metrics: list[dict[str, str]] = [{"Name": "Duration", "Unit": "Milliseconds"}]
    values: dict[str, Any] = {"Duration": round(duration_ms, 3)}
    if lateness_s is not None:
        metrics.append({"Name": "Lateness", "Unit": "Seconds"})
        values["Lateness"] = round(lateness_s, 3)
    document = {
        "_aws": {
            "Timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [["action", "outcome"]], "Metrics": metrics}
            ],
        },
        "action": action,
        "outcome": outcome,
        **values,
    }
    return json.dumps(document, separators=(",", ":"))


def lateness_of(event: ProxyEvent, now: datetime) -> float | None:
    """Seconds from the scheduled time (the context header) to now; None without one."""
    text = _header(event.get("headers") or {}, SCHEDULED_TIME_HEADER)
    if not text or text.startswith("<"):
        return None
    # Read as the worker reads it: a time without a zone, or one UTC cannot hold, is the
    # worker's 400, and no lateness (a naive time minus an aware one is a TypeError).
    scheduled = parse_scheduled_time(text)
    if scheduled is None:
        return None
    return max(0.0, (now - scheduled).total_seconds())


def action_of(event: ProxyEvent) -> str:
    try:
        action = json.loads(event.get("body") or "{}").get("action")
    except (ValueError, AttributeError):
        return "unknown"
    return action if isinstance(action, str) and action else "unknown"


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def now_utc() -> datetime:
    return datetime.now(UTC)


def _header(headers: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)
