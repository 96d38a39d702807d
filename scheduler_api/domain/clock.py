"""Time is passed in, never read from a global, so tests can pin it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_epoch(value: datetime) -> float:
    """What the SQLite store and the ledger keep: seconds since 1970 (UTC)."""
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
