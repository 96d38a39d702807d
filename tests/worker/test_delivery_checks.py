"""What the worker believes of a delivery (issue 18, item 9 and the worker's errors), through
the real lambda_handler: a signed Input replayed with other context headers, a signature
with an absurd t, unsigned bodies, malformed headers and events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lambda_worker.app import Worker, get_worker
from lambda_worker.app import app as worker_app
from lambda_worker.config import WorkerConfig
from lambda_worker.handler import UnsupportedEventError, lambda_handler
from lambda_worker.ledger.base import Ledger
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from task_contract import SKIPPED_HEADER, ProxyEvent, build_proxy_event, sign_event
from tests.conftest import counting_action
from tests.support.lambda_context import LAMBDA_CONTEXT

SECRET = "delivery-secret-0123"
SIGNED_AT = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)  # when the API created the schedule
FIRE = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)  # the fire EventBridge delivers
NOW = FIRE + timedelta(seconds=20)  # the worker's clock at delivery
ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/replayed"


@pytest.fixture
def ran() -> Iterator[list[str]]:
    """Each time the action really runs, counted from inside it."""
    with counting_action("replay_probe") as calls:
        yield calls


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """The worker with the secret and a ledger, on a clock pinned at NOW."""
    ledger = Ledger(
        SQLiteLedgerStore(tmp_path / "ledger.db"),
        in_progress_timeout=900,
        ttl_seconds=60,
        clock=NOW.timestamp,
    )
    config = WorkerConfig(callback_secret=SECRET)  # max_event_age_seconds: 3600
    worker_app.dependency_overrides[get_worker] = lambda: Worker(config, ledger, NOW.timestamp)
    yield ledger
    worker_app.dependency_overrides.clear()


def stored_input(signed_at: int = int(SIGNED_AT.timestamp()), **body: Any) -> str:
    """A schedule's Input as the API stores it: signed at creation (v1, body only)."""
    task = {"task_id": "replayed", "user_id": 1, "action": "replay_probe", **body}
    event = build_proxy_event("api/v1/tasks/callback", "POST", task)
    sign_event(event, SECRET, signed_at)
    return json.dumps(event)


def delivered(input_text: str, scheduled_time: str, **headers: str) -> ProxyEvent:
    """What EventBridge makes of it at an invocation, with `headers` changed after."""
    event: ProxyEvent = json.loads(
        input_text.replace("<aws.scheduler.scheduled-time>", scheduled_time)
        .replace("<aws.scheduler.schedule-arn>", ARN)
        .replace("<aws.scheduler.execution-id>", "exec-1")
        .replace("<aws.scheduler.attempt-number>", "1")
    )
    for name, value in headers.items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event


def status_of(event: ProxyEvent) -> int:
    status: int = lambda_handler(event, LAMBDA_CONTEXT)["statusCode"]
    return status


def test_the_genuine_delivery_runs(ledger: Ledger, ran: list[str]) -> None:
    assert status_of(delivered(stored_input(), "2030-01-01T09:00:00Z")) == 200
    assert ran == ["replayed"]


@pytest.mark.parametrize(
    ("scheduled_time", "status"),
    [
        ("now", 400),  # not a time: the ledger keyed on the text and lateness was skipped
        ("garbage", 400),
        ("2030-01-01T09:00:00", 400),  # no zone: whose 09:00?
        ("2999-01-01T00:00:00Z", 401),  # the future: never late
        ("2030-01-01T09:10:00Z", 401),  # ten minutes ahead of the worker's clock
        ("2030-01-01T07:59:00Z", 401),  # older than the maximum event age (3600 s)
    ],
)
def test_a_signed_input_replayed_with_another_time_is_refused_and_not_run(
    ledger: Ledger, ran: list[str], scheduled_time: str, status: int
) -> None:
    assert status_of(delivered(stored_input(), scheduled_time)) == status
    assert ran == []
    assert ledger.store.list_for_task("replayed", 10) == []


def test_a_time_before_the_input_was_signed_is_refused(ledger: Ledger, ran: list[str]) -> None:
    """Within the event age, but before the schedule existed: no fire of it is that old."""
    signed_late = int((FIRE - timedelta(minutes=1)).timestamp())
    assert status_of(delivered(stored_input(signed_late), "2030-01-01T08:50:00Z")) == 401
    assert ran == []


def test_the_same_fire_spelt_another_way_is_the_same_execution(
    ledger: Ledger, ran: list[str]
) -> None:
    """`+00:00` for `Z`, or a fraction of a second: one fire, one ledger key, one run."""
    for spelling in ("2030-01-01T09:00:00Z", "2030-01-01T09:00:00+00:00", "2030-01-01T09:00:00.5Z"):
        assert status_of(delivered(stored_input(), spelling)) == 200
    assert ran == ["replayed"]


def test_max_lateness_cannot_be_slipped_past_with_a_made_up_time(
    ledger: Ledger, ran: list[str]
) -> None:
    late = stored_input(max_lateness_seconds=60)
    genuine = status_of(delivered(late, "2030-01-01T08:58:00Z"))  # 140 s late
    for made_up in ("now", "garbage", "2999-12-31T23:59:59Z"):
        assert status_of(delivered(late, made_up)) in (400, 401)
    assert genuine == 200
    assert ran == []
    (record,) = ledger.store.list_for_task("replayed", 10)
    assert record.status == "SKIPPED"


@pytest.mark.parametrize(
    "t", ["1", "0", "1704067199", str(int((NOW + timedelta(hours=1)).timestamp()))]
)
def test_a_signature_with_an_absurd_t_is_refused(ledger: Ledger, ran: list[str], t: str) -> None:
    """t=1 (1970), just before 2024, or an hour in the future: no Input of ours."""
    assert status_of(delivered(stored_input(int(t)), "2030-01-01T09:00:00Z")) == 401
    assert ran == []


def test_a_v1_input_cannot_claim_to_be_a_manual_run(ledger: Ledger, ran: list[str]) -> None:
    """A run-now is always signed at delivery (v2); a v1 Input with the header would get a
    fresh ledger key at will."""
    event = delivered(stored_input(), "2030-01-01T09:00:00Z", **{"X-Task-Manual-Run": "x1"})
    assert status_of(event) == 401
    assert ran == []


def test_an_unsigned_request_with_a_bad_body_is_401_before_any_body_detail(
    ledger: Ledger, ran: list[str]
) -> None:
    event = build_proxy_event("api/v1/tasks/callback", "POST", {"task_id": ""})
    response = lambda_handler(event, LAMBDA_CONTEXT)
    assert response["statusCode"] == 401
    assert "task_id" not in response["body"]
    assert "user_id" not in response["body"]
    not_json: ProxyEvent = {**event, "body": "{"}
    assert status_of(not_json) == 401


def test_a_signed_request_with_a_bad_body_is_still_422(ledger: Ledger) -> None:
    event = build_proxy_event("api/v1/tasks/callback", "POST", {"task_id": "", "user_id": 1})
    sign_event(event, SECRET, int(SIGNED_AT.timestamp()))
    event["headers"]["X-Scheduler-Scheduled-Time"] = "2030-01-01T09:00:00Z"
    event["multiValueHeaders"]["X-Scheduler-Scheduled-Time"] = ["2030-01-01T09:00:00Z"]
    assert status_of(event) == 422


@pytest.mark.parametrize(
    "attempt",
    ["9" * 5000, "99999999999999999999", "10001", "0", "-1", "1.5", "abc", "\u0661"],
)
def test_a_huge_or_malformed_attempt_number_is_400_never_a_500(
    ledger: Ledger, ran: list[str], attempt: str
) -> None:
    event = delivered(stored_input(), "2030-01-01T09:00:00Z", **{"X-Scheduler-Attempt": attempt})
    response = lambda_handler(event, LAMBDA_CONTEXT)  # a 500 would raise TaskFailedError here
    assert response["statusCode"] == 400
    assert len(response["body"]) < 200  # the rule, not the value
    assert ran == []


def test_without_a_secret_a_time_that_does_not_parse_is_400(ran: list[str]) -> None:
    event = delivered(stored_input(), "garbage")
    assert status_of(event) == 400
    assert ran == []


# ISO 8601 with a zone, but at datetime's edge: in UTC they fall outside years 1 to 9999.
UNREPRESENTABLE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("header", ["X-Scheduler-Scheduled-Time", "X-Task-Run-At"])
@pytest.mark.parametrize("when", UNREPRESENTABLE)
@pytest.mark.parametrize("signed", [False, True])
def test_a_time_that_utc_cannot_hold_is_400_never_a_500(
    request: pytest.FixtureRequest, ran: list[str], header: str, when: str, signed: bool
) -> None:
    """It parsed, so it was taken as a time, and the ledger key's conversion to UTC
    raised OverflowError: a 500, which Lambda retries."""
    if signed:
        request.getfixturevalue("ledger")
    event = delivered(stored_input(), "" if header != "X-Scheduler-Scheduled-Time" else when)
    event["headers"][header], event["multiValueHeaders"][header] = when, [when]
    response = lambda_handler(event, LAMBDA_CONTEXT)  # a 500 would raise TaskFailedError here
    assert response["statusCode"] == 400, response["body"]
    assert ran == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("headers", {"X-Scheduler-Attempt": 3}),
        ("headers", ["X-A"]),
        ("multiValueHeaders", "x"),
        ("multiValueHeaders", {"X-A": [1]}),
        ("body", {"task_id": "dict-body"}),
        ("body", 5),
        ("body", '{"task_id": "\ud800"}'),
        ("httpMethod", 5),
        ("path", 5),
        ("requestContext", "x"),
        ("requestContext", {"identity": "x"}),
        ("isBase64Encoded", "yes"),
        ("queryStringParameters", [1]),
        ("headers", {"X-A": "\ud800"}),
    ],
)
def test_a_malformed_proxy_event_raises_the_documented_error(key: str, value: Any) -> None:
    """Not a TypeError or AttributeError out of Mangum: UnsupportedEventError naming the key."""
    event: Any = build_proxy_event("api/v1/tasks/callback", "POST", {"task_id": "t", "user_id": 1})
    event[key] = value  # made ill-typed on purpose, as Lambda may deliver anything
    with pytest.raises(UnsupportedEventError, match=key):
        lambda_handler(event, LAMBDA_CONTEXT)


def test_a_base64_body_that_does_not_decode_raises_the_documented_error() -> None:
    event = build_proxy_event("api/v1/tasks/callback", "POST", {"task_id": "t", "user_id": 1})
    event["isBase64Encoded"] = True  # the body is JSON text, not base64
    with pytest.raises(UnsupportedEventError, match="body"):
        lambda_handler(event, LAMBDA_CONTEXT)


def test_a_skipped_header_is_what_a_late_delivery_gets(ledger: Ledger, ran: list[str]) -> None:
    """The bounds do not replace the policy: a genuine late fire is still SKIPPED, not 401."""
    response = lambda_handler(
        delivered(stored_input(max_lateness_seconds=60), "2030-01-01T08:30:00Z"), LAMBDA_CONTEXT
    )
    assert response["statusCode"] == 200
    assert response["headers"][SKIPPED_HEADER.lower()].startswith("late")
