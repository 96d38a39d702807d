"""The engine's health state (engine/health.py), without an engine: a failure points at
the verdict. The loop's behaviour under faults is tested in test_engine_resilience.py."""

from __future__ import annotations

from scheduler_api.backends.local.engine.health import (
    MAX_BACKOFF_SECONDS,
    STALLED_AFTER_POLLS,
    EngineHealth,
    RoundHealth,
)

POLL = 0.2


def verdict(
    health: RoundHealth, now: float, *, running: bool = True, stopping: bool = False
) -> EngineHealth:
    return health.verdict(now, started=True, running=running, stopping=stopping, poll_seconds=POLL)


def test_an_engine_driven_by_hand_is_healthy() -> None:
    health = RoundHealth()
    state = health.verdict(100.0, started=False, running=False, stopping=False, poll_seconds=POLL)
    assert (state.healthy, state.running, state.seconds_since_round) == (True, False, None)


def test_a_running_loop_is_healthy_until_rounds_stall() -> None:
    health = RoundHealth()
    health.completed(10.0)
    stalled_after = STALLED_AFTER_POLLS * POLL
    assert verdict(health, 10.0 + stalled_after).healthy
    late = verdict(health, 10.0 + stalled_after + 1)
    assert not late.healthy
    assert late.reason == f"the engine has not completed a round for {stalled_after + 1:.0f} s"


def test_a_stalled_loop_names_the_class_of_what_each_round_raises() -> None:
    health = RoundHealth()
    health.completed(0.0)
    health.failed(RuntimeError("a message that must not be shown"), 1.0)
    reason = verdict(health, 60.0).reason
    assert reason is not None
    assert reason.endswith("(each round raises RuntimeError)")
    assert "message" not in reason
    health.recovered()
    assert health.last_failure is None
    health.completed(60.0)
    assert verdict(health, 60.5).healthy


def test_a_loop_that_died_is_unhealthy_unless_it_was_stopped() -> None:
    health = RoundHealth()
    health.completed(0.0)
    assert verdict(health, 1.0, running=False).reason == "the engine's loop is not running"
    assert verdict(health, 1.0, running=False, stopping=True).healthy


def test_the_backoff_doubles_with_each_failure_in_a_row_up_to_the_cap() -> None:
    health = RoundHealth()
    pauses = []
    for n in range(8):
        health.failed(RuntimeError(), float(n))
        pauses.append(health.backoff(POLL))
    assert pauses[:4] == [POLL, 2 * POLL, 4 * POLL, 8 * POLL]
    assert pauses[-1] == MAX_BACKOFF_SECONDS
    health.recovered()
    health.failed(RuntimeError(), 10.0)  # a new streak starts from one poll again
    assert health.backoff(POLL) == POLL
