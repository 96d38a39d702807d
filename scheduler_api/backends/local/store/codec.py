"""A schedule's spec as the local store keeps it: one JSON text in `schedules.spec`.

The backend writes it on create and update; the engine reads it to compute fires. Both
sides use this one codec, so a field added to ScheduleSpec is stored and read back alike.
"""

from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget


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
