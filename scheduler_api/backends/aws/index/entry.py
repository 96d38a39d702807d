"""What the index holds of one schedule (an Entry), computed from a spec or from what
EventBridge says; every item of the schedule is a full copy of it (see items.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from scheduler_api.backends.aws.index.keys import NEVER, time_key
from scheduler_api.domain.fires import upcoming_fire
from scheduler_api.domain.schedules import Schedule, ScheduleKind, ScheduleListing, ScheduleSpec
from scheduler_api.domain.task_input import kind_of, labels_in, task_body


@dataclass(frozen=True)
class Entry:
    """What the table holds of one schedule."""

    arn: str
    name: str
    group_name: str
    task_id: str | None
    user_id: int | None
    action: str | None
    labels: dict[str, str]
    state: str
    kind: ScheduleKind
    expression: str
    timezone: str
    next_fire: datetime | None
    anchor: datetime  # where a rate() counts from
    created_at: datetime | None = None
    updated_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    checked_at: datetime | None = None  # one-time, past its time: last seen in EventBridge

    @classmethod
    def of(
        cls,
        arn: str,
        spec: ScheduleSpec,
        *,
        anchor: datetime,
        now: datetime,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> Entry:
        body = task_body(spec)
        task_id = body.get("task_id")
        user_id = body.get("user_id")
        return cls(
            arn=arn,
            name=spec.name,
            group_name=spec.group_name,
            task_id=None if task_id is None else str(task_id),
            user_id=user_id if isinstance(user_id, int) else None,
            action=body.get("action") if isinstance(body.get("action"), str) else None,
            labels=labels_in(body),
            state=spec.state,
            kind=kind_of(spec.expression),
            expression=spec.expression,
            timezone=spec.timezone,
            next_fire=upcoming_fire(
                spec.expression,
                spec.timezone,
                state=spec.state,
                anchor=anchor,
                start_date=spec.start_date,
                end_date=spec.end_date,
                now=now,
            ),
            anchor=anchor,
            created_at=created_at,
            updated_at=updated_at,
            start_date=spec.start_date,
            end_date=spec.end_date,
        )

    @classmethod
    def of_schedule(cls, schedule: Schedule, now: datetime) -> Entry:
        """From what EventBridge says (GetSchedule)."""
        anchor = schedule.updated_at or schedule.created_at or now
        entry = cls.of(
            schedule.arn,
            schedule.spec,
            anchor=anchor,
            now=now,
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )
        return replace(entry, checked_at=now) if entry.is_past(now) else entry

    def is_past(self, now: datetime) -> bool:
        return self.next_fire is not None and self.next_fire < now

    def refreshed(self, now: datetime) -> Entry:
        """A recurring schedule's next fire from now on."""
        fire = upcoming_fire(
            self.expression,
            self.timezone,
            state=self.state,
            anchor=self.anchor,
            start_date=self.start_date,
            end_date=self.end_date,
            now=now,
        )
        return replace(self, next_fire=fire)

    @property
    def sort(self) -> str:
        fire = NEVER if self.next_fire is None else time_key(self.next_fire)
        return f"{fire}|{self.task_id or ''}|{self.name}"

    def listing(self) -> ScheduleListing:
        return ScheduleListing(
            arn=self.arn,
            name=self.name,
            group_name=self.group_name,
            task_id=self.task_id,
            user_id=self.user_id,
            action=self.action,
            labels=self.labels,
            state=self.state,
            kind=self.kind,
            expression=self.expression,
            timezone=self.timezone,
            next_fire=self.next_fire,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )
