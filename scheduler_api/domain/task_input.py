"""A schedule's Input, read and written in one place.

The Input is the text EventBridge hands the target: an API Gateway proxy event (built by
task_contract.build_proxy_event) whose `body` is the callback body as a JSON string. The
service writes it (`encode_input`); the backends, the index and the views read it back
(`input_event`, `input_body_text`, `input_body`, `task_body`). A reader never raises on an
Input that is not one of ours (a schedule made elsewhere, or stored by an older release):
it answers None, or {} for `task_body`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scheduler_api.domain.schedules import ScheduleKind, ScheduleSpec


def encode_input(event: Mapping[str, Any]) -> str:
    """The Input for a proxy event: compact JSON (EventBridge counts its bytes)."""
    return json.dumps(event, separators=(",", ":"))


def input_event(target_input: str) -> dict[str, Any] | None:
    """The Input as an event (a JSON object); None if it is not one."""
    try:
        event = json.loads(target_input)
    except (ValueError, TypeError):
        return None
    return event if isinstance(event, dict) else None


def input_body_text(target_input: str) -> str | None:
    """The callback body inside the Input as written (a JSON string); None if none."""
    event = input_event(target_input)
    body = None if event is None else event.get("body")
    return body if isinstance(body, str) else None


def input_body(target_input: str) -> dict[str, Any] | None:
    """The callback body inside the Input, parsed; None if it is not a JSON object."""
    text = input_body_text(target_input)
    if text is None:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def task_body(spec: ScheduleSpec) -> dict[str, Any]:
    """The callback body inside the schedule's Input ({} if it is not one of ours)."""
    return input_body(spec.target.input) or {}


def kind_of(expression: str) -> ScheduleKind:
    return "one-time" if expression.startswith("at(") else "recurring"


def labels_in(body: dict[str, Any]) -> dict[str, str]:
    labels = body.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def task_id_of(spec: ScheduleSpec) -> str | None:
    task_id = task_body(spec).get("task_id")
    return None if task_id is None else str(task_id)


def max_lateness_of(spec: ScheduleSpec) -> int | None:
    value = task_body(spec).get("max_lateness_seconds")
    return value if isinstance(value, int) else None
