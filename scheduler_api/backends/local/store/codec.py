"""A schedule's spec as the local store keeps it: one JSON text in `schedules.spec`.

The backend writes it on create and update; the engine reads it to compute fires. Both
sides use this one codec, so a field added to ScheduleSpec is stored and read back alike.
A list reads only a field or two of each row (labels_of, stored_state, stored_zone),
without building the whole spec.
"""

from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from scheduler_api.domain.task_input import input_body


def spec_to_json(spec: ScheduleSpec) -> str:
    # Flat fields by hand: dataclasses.asdict deep-copies, a cost on every POST.
    fields = {name: getattr(spec, name) for name in _SPEC_FIELDS}
    fields["target"] = vars(spec.target)
    return json.dumps(fields, default=lambda value: value.isoformat())


_SPEC_FIELDS = [field.name for field in dataclass_fields(ScheduleSpec) if field.name != "target"]


def spec_from_json(text: str) -> ScheduleSpec:
    raw: dict[str, Any] = json.loads(text)
    target = ScheduleTarget(**raw.pop("target"))
    for key in ("start_date", "end_date"):
        if raw[key] is not None:
            raw[key] = datetime.fromisoformat(raw[key])
    return ScheduleSpec(target=target, **raw)


def labels_of(spec_json: str) -> dict[str, str] | None:
    """The task's labels from a stored spec, without building the whole spec."""
    try:
        body = input_body(json.loads(spec_json)["target"]["input"])
    except (ValueError, KeyError, TypeError):
        return None
    labels = None if body is None else body.get("labels", {})
    return labels if isinstance(labels, dict) else None


def stored_state(spec_json: str) -> str:
    """The stored state; a spec that cannot be read never fires, so it lists as DISABLED
    (with the engine's reason in `broken`)."""
    try:
        return spec_from_json(spec_json).state
    except (ValueError, KeyError, TypeError):
        return "DISABLED"


def stored_zone(spec_json: str) -> object:
    """The stored spec's time zone; None if it cannot be read (then checked as new)."""
    try:
        return json.loads(spec_json).get("timezone")
    except (ValueError, AttributeError):
        return None
