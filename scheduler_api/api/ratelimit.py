"""A small token bucket per client, for dashboard sign-in guesses."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class GuessLimiter:
    """Each client may guess wrong `burst` times at once, then once every `refill_seconds`.

    Times are passed in (the app's clock), so tests need no sleeps. At most `max_clients`
    buckets are kept, the least recently used dropped first: memory stays bounded however
    many addresses guess. The buckets are this process's: under WORKERS=N each worker
    has its own, so the rate is at most N times this."""

    def __init__(
        self, burst: int = 5, refill_seconds: float = 10.0, max_clients: int = 4096
    ) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str, now: float) -> float:
        """Spend one try: 0 when allowed, else how many seconds until the next one.
        Called on the event loop only (an async route), so it needs no lock."""
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed / self.refill_seconds)
        bucket.updated = now
        self._buckets[client] = bucket  # most recently used last
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) * self.refill_seconds

    def refund(self, client: str) -> None:
        """Give back the try a right guess spent: only wrong ones are limited, so signing
        in often is never refused once the right token is known."""
        bucket = self._buckets.get(client)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + 1.0)
