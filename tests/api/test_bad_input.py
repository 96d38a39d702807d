"""Bad input is a clear 4xx naming the field, never accepted-then-broken, never a 500
(issue 18, item 5 and the low items), on both backends:

- what POST and PATCH accept, the worker can run (a lone surrogate, NaN: refused);
- dates, rates and time zones beyond what the fire computation or AWS takes: 422;
- forged page tokens and too many label filters: 422.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, get_worker
from lambda_worker.app import app as worker_app
from lambda_worker.config import WorkerConfig
from lambda_worker.handler import lambda_handler
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.domain.errors import BackendFailureError, RequestValidationFailedError
from scheduler_api.domain.expressions.parse import (
    local_to_utc,
    parse_rate,
    parse_timezone,
    timezone_names,
)
from scheduler_api.domain.fires import fires_after
from task_contract import substitute_context_attributes
from tests.conftest import ACCOUNT, GROUP, REGION, Api, LocalApp, task_body
from tests.support.lambda_context import LAMBDA_CONTEXT

JSON = {"content-type": "application/json"}
ECHO = "echo_data"


def arn_of(task_id: str) -> str:
    return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/{task_id}"


def post_text(api: Api, text: str) -> httpx.Response:
    """A body sent as written: json= would encode it as UTF-8, which a lone surrogate
    cannot be, where a JavaScript client sends the escape."""
    response: httpx.Response = api.client.post(
        "/scheduler/schedule", content=text.encode(), headers=JSON
    )
    return response


def patch_text(api: Api, task_id: str, text: str) -> httpx.Response:
    response: httpx.Response = api.client.patch(
        f"/scheduler/schedule/{arn_of(task_id)}", content=text.encode(), headers=JSON
    )
    return response


def body_with(task_id: str, **fields: str) -> str:
    """A POST body with some fields as raw JSON text (escapes and NaN kept as written)."""
    text = json.dumps(task_body(task_id))[:-1]
    return text + "".join(f', "{name}": {raw}' for name, raw in fields.items()) + "}"


def locs(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


# --- item 5: what POST and PATCH accept, the worker can run ---

UNDELIVERABLE_DATA = [
    ('{"k": "\\ud800"}', ["body", "data", "k"]),  # a lone high surrogate
    ('{"k": "cut \\ud83d"}', ["body", "data", "k"]),  # an emoji cut in half
    ('{"k": "\\udfff\\ud800"}', ["body", "data", "k"]),  # a pair the wrong way round
    ('{"\\ud800": 1}', ["body", "data", "\\ud800"]),  # a key, escaped in the loc
    ('{"a": [1, {"b": ["x", "\\udc00"]}]}', ["body", "data", "a", 1, "b", 1]),
    ('{"k": NaN}', ["body", "data", "k"]),
    ('{"k": [Infinity]}', ["body", "data", "k", 0]),
    ('{"k": {"v": -Infinity}}', ["body", "data", "k", "v"]),
    ('{"k": 1e400}', ["body", "data", "k"]),  # Python reads it as inf
]


@pytest.mark.parametrize(("data", "loc"), UNDELIVERABLE_DATA, ids=lambda case: str(case))
def test_post_refuses_data_the_worker_could_not_receive(
    api: Api, data: str, loc: list[Any]
) -> None:
    response = post_text(api, body_with("undeliverable", data=data))
    assert locs(response) == [loc]
    assert api.client.get(f"/scheduler/schedule/{arn_of('undeliverable')}").status_code == 404


@pytest.mark.parametrize(("data", "loc"), UNDELIVERABLE_DATA, ids=lambda case: str(case))
def test_patch_refuses_it_too_and_the_task_stays_as_it_was(
    api: Api, data: str, loc: list[Any]
) -> None:
    assert api.client.post("/scheduler/schedule", json=task_body("kept")).status_code == 200
    before = api.client.get(f"/scheduler/schedule/{arn_of('kept')}").json()
    assert locs(patch_text(api, "kept", f'{{"data": {data}}}')) == [loc]
    after = api.client.get(f"/scheduler/schedule/{arn_of('kept')}").json()
    assert after["task"] is not None
    assert after["task"] == before["task"]
    # and it can still be patched: nothing was stored that decodes as "not a task"
    fixed = patch_text(api, "kept", '{"data": {"k": "\\ud83d\\ude00"}}')  # a whole emoji
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["task"]["data"] == {"k": "\U0001f600"}


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"action": '"send_\\ud800"'}, ["body", "action"]),
        ({"labels": '{"tier": "\\ud800"}'}, ["body", "labels", "tier"]),
    ],
)
def test_text_fields_with_a_lone_surrogate_are_422(
    api: Api, fields: dict[str, str], loc: list[Any]
) -> None:
    text = json.dumps({k: v for k, v in task_body("texts").items() if k not in fields})
    text = text[:-1] + "".join(f', "{k}": {v}' for k, v in fields.items()) + "}"
    assert locs(post_text(api, text)) == [loc]


def test_the_python_api_refuses_an_undeliverable_callback_body(api: Api) -> None:
    """schedule_lambda_proxy_task takes any dict: the same rule holds there."""
    service = api.client.app.state.runtime.service  # type: ignore[attr-defined]
    body = {**task_body("python-api"), "data": {"k": "\ud800"}}
    body.pop("delay_minutes")
    with pytest.raises(RequestValidationFailedError) as refused:
        service.schedule_lambda_proxy_task(
            callback_path="/api/v1/tasks/callback", callback_body=body, delay_minutes=5
        )
    assert refused.value.field == "data"


def test_a_bulk_filter_with_a_lone_surrogate_is_422(finder: Api) -> None:
    text = '{"operation": "pause", "filter": {"action": "\\ud800"}, "dry_run": true}'
    response = finder.client.post("/scheduler/schedules/bulk", content=text, headers=JSON)
    assert locs(response) == [["body", "filter", "action"]]


@pytest.fixture
def echo_worker() -> Iterator[None]:
    """The worker's real app, ledger off, with an action that answers the data it got."""

    @action(ECHO)
    def echo(task: TaskCallbackRequest) -> dict[str, Any]:
        return {"data": task.data}

    worker_app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), None)
    yield
    worker_app.dependency_overrides.clear()
    action_registry._actions.pop(ECHO, None)


SPECIAL_TEXT = st.sampled_from(
    ["\ud800", "a\udfff", "\ud83d\ude00", "\ud83d", "\x00", "\u2028", "é", "", "\\u0000"]
)
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=8),
    SPECIAL_TEXT,
    st.tuples(st.text(max_size=3), SPECIAL_TEXT).map("".join),
)
NUMBER = st.one_of(
    st.integers(),
    st.floats(),  # NaN and the infinities included
    st.sampled_from([2**63, -(2**63) - 1, 2**53 + 1, 1e308, -0.0, 5e-324]),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=12,
)
serial = itertools.count()


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.dictionaries(TEXT, JSON_VALUE, max_size=4),
    action_name=st.one_of(st.just(ECHO), TEXT, st.text(min_size=120, max_size=130)),
    labels=st.dictionaries(st.from_regex(r"[a-z0-9_.-]{1,8}", fullmatch=True), TEXT, max_size=2),
)
def test_what_post_accepts_the_worker_runs(
    api: Api, echo_worker: None, data: dict[str, Any], action_name: str, labels: dict[str, str]
) -> None:
    """Generated bodies: either a 4xx naming a field, or a stored Input that the worker's
    own model accepts after the JSON round trip, and that its real lambda_handler runs,
    with the data as it was sent."""
    task_id = f"prop-{next(serial)}"
    body = {**task_body(task_id), "data": data, "action": action_name, "labels": labels}
    text = json.dumps(body)  # escapes as JavaScript's JSON.stringify does
    sent = json.loads(text)  # what the JSON says ("\ud800\udc00" is one character)
    response = post_text(api, text)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert all(loc[0] == "body" and len(loc) > 1 for loc in locs(response))
        return
    stored = api.backend.get_schedule(GROUP, task_id).spec.target.input
    event = json.loads(
        substitute_context_attributes(
            stored,
            schedule_arn=arn_of(task_id),
            scheduled_time="2030-01-01T00:31:00Z",
            execution_id=f"exec-{task_id}",
            attempt=1,
        )
    )
    task = TaskCallbackRequest.model_validate_json(event["body"])  # the worker's own rules
    assert task.data == sent["data"]
    assert task.labels == sent["labels"]
    if action_name == ECHO:
        answer = lambda_handler(event, LAMBDA_CONTEXT)
        assert answer["statusCode"] == 200, answer
        assert json.loads(answer["body"])["result"] == {"data": sent["data"]}


def test_the_property_generates_what_the_worker_refuses() -> None:
    """The generated data does reach the cases that matter (else the test above proves
    nothing): lone surrogates, in keys and values, and non-finite numbers."""
    found: set[str] = set()

    @settings(max_examples=300, database=None)
    @given(st.dictionaries(TEXT, JSON_VALUE, max_size=4))
    def look(data: dict[str, Any]) -> None:
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                found.update("surrogate key" for key in item if _lone_surrogate(key))
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and _lone_surrogate(item):
                found.add("surrogate value")
            elif isinstance(item, float) and not math.isfinite(item):
                found.add("non-finite")

    look()
    assert found == {"surrogate key", "surrogate value", "non-finite"}


def _lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in json.loads(json.dumps(text)))


# --- dates beyond what the fire computation can represent ---

OUT_OF_RANGE = [
    ({"rate": "900000 days"}, "rate"),
    ({"rate": "36526 days"}, "rate"),  # one day over 100 years
    ({"rate": "1 day", "start_date": "9999-12-31T00:00:00Z"}, "start_date"),
    ({"rate": "1 day", "end_date": "9999-12-31T23:59:59-10:00"}, "end_date"),
    ({"cron": "0 9 * * ? *", "start_date": "2200-01-01T00:00:00Z"}, "start_date"),
    ({"run_at": "9999-12-31T23:59:00-10:00"}, "run_at"),
    ({"run_at": "9999-12-31T23:59:00", "timezone": "Pacific/Honolulu"}, "run_at"),
    ({"rate": "1 day", "start_date": "0001-01-01T00:00:00+14:00"}, "start_date"),
]


@pytest.mark.parametrize(("timing", "field"), OUT_OF_RANGE, ids=lambda case: str(case))
def test_a_date_or_rate_beyond_range_is_422_naming_it(
    api: Api, timing: dict[str, str], field: str
) -> None:
    response = api.client.post("/scheduler/schedule", json=task_body("far", **timing))
    assert locs(response) == [["body", field]]


@pytest.mark.parametrize(("timing", "field"), OUT_OF_RANGE, ids=lambda case: str(case))
def test_patch_refuses_the_same_dates(api: Api, timing: dict[str, str], field: str) -> None:
    assert api.client.post("/scheduler/schedule", json=task_body("near")).status_code == 200
    response = api.client.patch(f"/scheduler/schedule/{arn_of('near')}", json=timing)
    assert locs(response) == [["body", field]]


def test_the_longest_rate_and_the_last_year_are_accepted(api: Api) -> None:
    longest = api.client.post("/scheduler/schedule", json=task_body("long", rate="36525 days"))
    assert longest.status_code == 200, longest.text
    assert len(longest.json()["next_run_times"]) == 5
    late = task_body("late", rate="1 day", start_date="2199-12-31T00:00:00-10:00")
    response = api.client.post("/scheduler/schedule", json=late)
    assert response.status_code == 200, response.text
    first = datetime.fromisoformat(response.json()["next_run_times"][0])
    assert first == datetime(2199, 12, 31, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("expression=rate(1000000 days)", "expression"),
        ("expression=rate(1 day)&after=9999-12-31T23:59:59Z", "after"),
        ("expression=rate(1 day)&after=0001-01-01T00:00:00%2B14:00", "after"),
        ("expression=at(9999-12-31T23:59:00)&timezone=Pacific/Honolulu", "expression"),
        ("expression=rate(1 day)&timezone=localtime", "timezone"),
    ],
)
def test_preview_refuses_what_it_cannot_compute(api: Api, query: str, field: str) -> None:
    response = api.client.get(f"/scheduler/preview?{query}&count=50")
    assert locs(response) == [["query", field]]


def test_a_schedule_made_elsewhere_with_a_huge_rate_still_reads(api: Api) -> None:
    """AWS stores what another client made (the console, the CLI); GET and the list
    must still answer for it, listing only the fires datetime can hold."""
    assert api.client.post("/scheduler/schedule", json=task_body("huge", rate="1 day")).is_success
    schedule = api.backend.get_schedule(GROUP, "huge")
    api.backend.update_schedule(replace(schedule.spec, expression="rate(1000000 days)"))
    response = api.client.get(f"/scheduler/schedule/{arn_of('huge')}")
    assert response.status_code == 200, response.text
    assert 1 <= len(response.json()["next_run_times"]) < 5
    assert api.client.get("/scheduler/schedules").status_code == 200


def test_fire_times_stop_before_datetime_runs_out() -> None:
    """Below validation (a stored schedule made elsewhere): no OverflowError, just the
    fires that datetime can hold."""
    fires = fires_after(
        parse_rate("1000000 days"),
        zone=parse_timezone("UTC"),
        after=datetime(2030, 1, 1, tzinfo=UTC),
        count=50,
    )
    assert 1 <= len(fires) <= 3
    honolulu = parse_timezone("Pacific/Honolulu")
    assert local_to_utc(datetime(9999, 12, 31, 23, 59), honolulu) is None


# --- time zones: IANA names only, as AWS takes them ---

NOT_IANA = ["localtime", "posixrules", "right/UTC", "posix/UTC", "Factory", "UTC ", "utc"]


@pytest.mark.parametrize("zone", NOT_IANA)
def test_a_zone_file_that_is_not_an_iana_name_is_422(api: Api, zone: str) -> None:
    response = api.client.post(
        "/scheduler/schedule", json=task_body("zone", delay_minutes=30, timezone=zone)
    )
    assert locs(response) == [["body", "timezone"]]
    assert api.client.post("/scheduler/schedule", json=task_body("zoned")).status_code == 200
    patched = api.client.patch(f"/scheduler/schedule/{arn_of('zoned')}", json={"timezone": zone})
    assert locs(patched) == [["body", "timezone"]]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Asia/Seoul", "US/Eastern", "Etc/GMT+5"])
def test_iana_names_and_their_links_are_accepted(api: Api, zone: str) -> None:
    response = api.client.post(
        "/scheduler/schedule", json=task_body("iana", delay_minutes=30, timezone=zone)
    )
    assert response.status_code == 200, response.text


def test_the_names_are_the_pinned_tzdata_packages() -> None:
    names = timezone_names()
    assert {"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"} <= names
    assert not {"localtime", "posixrules", "Factory"} & names
    assert not [name for name in names if name.startswith(("posix/", "right/"))]


def test_the_local_engine_refuses_such_a_zone_as_aws_does(local_app: LocalApp) -> None:
    """Below the API (the Python interface, a PATCH merge): the backend itself refuses,
    as AWS's ValidationException does (moto does not check)."""
    body = task_body("engine")
    assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
    backend = local_app.runtime.service.backend
    schedule = backend.get_schedule(GROUP, "engine")
    with pytest.raises(BackendFailureError, match="not an IANA time zone name"):
        backend.update_schedule(replace(schedule.spec, timezone="localtime"))


def test_a_schedule_stored_with_such_a_zone_can_still_be_paused(local_app: LocalApp) -> None:
    """The previous release accepted posixrules, localtime and right/UTC, and such a
    schedule keeps firing after the upgrade: pausing it (which leaves its zone as it is)
    must work, one by one and in bulk; only a change to such a zone is refused."""
    for task_id in ("legacy-one", "legacy-bulk"):
        body = task_body(task_id, cron="0 9 * * ? *", timezone="UTC")
        assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
    with sqlite3.connect(local_app.runtime.service.backend.database.path) as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE schedules SET spec = json_set(spec, '$.timezone', 'posixrules')")
    paused = local_app.client.post(f"/scheduler/schedule/{arn_of('legacy-one')}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["state"] == "DISABLED"
    bulk = local_app.client.post(
        "/scheduler/schedules/bulk", json={"operation": "pause", "filter": {"all": True}}
    )
    assert (bulk.status_code, bulk.json()["changed"], bulk.json()["failed"]) == (200, 1, 0)
    resumed = local_app.client.post(f"/scheduler/schedule/{arn_of('legacy-one')}/resume")
    assert resumed.status_code == 200, resumed.text


# --- page tokens ---


def token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


FORGED_TOKENS = {
    "surrogate-in-index-shape": token(json.dumps(["\ud800"]).encode()),  # DynamoDB index's
    "surrogate-in-local-shape": token(json.dumps([0, "\ud800", "x"]).encode()),
    "1500-brackets": token(b"[" * 1500),  # 2,000 characters: under the length limit
    "760-nested-pairs": token(b"[" * 760 + b"]" * 760),
    "nan-sort": token(b'[NaN, "a", "b"]'),
    "infinite-sort": token(b"[1e400]"),
    "boolean-sort": token(b'[true, "a", "b"]'),
    "object": token(b'{"sort": 1}'),
    "empty-list": token(b"[]"),
    "surrogate-bytes": token(b"\xed\xa0\x80"),  # not UTF-8
    "not-base64": "not base64!",
    "not-ascii": "%ED%A0%80",
}


@pytest.mark.parametrize("name", FORGED_TOKENS)
@pytest.mark.parametrize("filtered", [True, False], ids=["filtered", "unfiltered"])
def test_a_forged_next_token_is_422_naming_it(finder: Api, name: str, filtered: bool) -> None:
    forged = FORGED_TOKENS[name]
    query = {"next_token": forged, **({"user_id": "1"} if filtered else {})}
    if forged.startswith("%"):
        response = finder.client.get(f"/scheduler/schedules?next_token={forged}")
    else:
        response = finder.client.get("/scheduler/schedules", params=query)
    assert locs(response) == [["query", "next_token"]]


def test_real_tokens_still_page_through(finder: Api) -> None:
    for task_id in ("page-a", "page-b", "page-c"):
        assert finder.client.post("/scheduler/schedule", json=task_body(task_id)).is_success
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1, "user_id": 456}
    while True:
        page = finder.client.get("/scheduler/schedules", params=params)
        assert page.status_code == 200, page.text
        seen += [item["task_id"] for item in page.json()["schedules"]]
        if page.json()["next_token"] is None:
            break
        params["next_token"] = page.json()["next_token"]
    assert sorted(seen) == ["page-a", "page-b", "page-c"]


# --- label filters ---


@pytest.mark.parametrize("count", [11, 1000])
def test_more_label_filters_than_a_task_has_labels_is_422(finder: Api, count: int) -> None:
    params = [("label", f"k{i}:v") for i in range(count)]
    response = finder.client.get("/scheduler/schedules", params=params)
    assert locs(response) == [["query", "label"]]
    assert "10" in response.json()["detail"][0]["msg"]


def test_ten_label_filters_are_fine(finder: Api) -> None:
    labels = {f"k{i}": "v" for i in range(10)}
    assert finder.client.post(
        "/scheduler/schedule", json={**task_body("ten"), "labels": labels}
    ).is_success
    params = [("label", f"{key}:v") for key in labels]
    response = finder.client.get("/scheduler/schedules", params=params)
    assert response.status_code == 200, response.text
    assert [item["task_id"] for item in response.json()["schedules"]] == ["ten"]
