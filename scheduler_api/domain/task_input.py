"""What an index keeps of a schedule's task, read from its Input (the proxy event that
task_contract builds): shared by the local index and the AWS schedule table."""

from __future__ import annotations

import json
from typing import Any

from scheduler_api.domain.schedules import ScheduleKind, ScheduleSpec


def task_body(spec: ScheduleSpec) -> dict[str, Any]:
    """The callback body inside the schedule's Input ({} if it is not one of ours)."""
    try:
        body = json.loads(json.loads(spec.target.input)["body"])
    except (ValueError, KeyError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def kind_of(expression: str) -> ScheduleKind:
    return "one-time" if expression.startswith("at(") else "recurring"


def labels_in(body: dict[str, Any]) -> dict[str, str]:
    labels = body.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
