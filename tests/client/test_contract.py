"""The client's models against the server's OpenAPI document (`create_app().openapi()`):
each response and request schema has the same fields as its client model, required on both
sides or on neither. A field added, renamed or made required on one side only fails here,
before a user meets it as a parse error or a field the client cannot send.

Each shared field's JSON type and enum values are compared too (schema_shapes.py): an int
that became a string, or a run status the client has not heard of, fails here.

The comparison is also run on deliberately broken copies (a field added, renamed or made
required on one side, a type changed, an enum value added), so this test is known to fail
when the two drift."""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from scheduler_client import models, requests

from scheduler_api.main import create_app
from tests.client.schema_shapes import differences, facts
from tests.conftest import make_local_settings

# Server schema -> the client model that reads (or writes) it.
RESPONSES: dict[str, type[BaseModel]] = {
    "ScheduleTaskResponse": models.ScheduleCreated,
    "ScheduleDetail": models.ScheduleDetail,
    "TaskPayload": models.Task,
    "RunNowResponse": models.RunStarted,
    "CancelScheduleResponse": models.Cancelled,
    "ScheduleSummaryOut": models.ScheduleSummary,
    "ScheduleListResponse": models.SchedulePage,
    "BulkResponse": models.BulkResult,
    "PreviewResponse": models.Preview,
    "RunOut": models.Run,
    "RunListResponse": models.RunList,
    "AttemptOut": models.Attempt,
    "DeadLetterOut": models.DeadLetter,
    "DeadLetterListResponse": models.DeadLetterList,
    "RedriveResponse": models.Redriven,
    "DismissResponse": models.Dismissed,
    "LatenessPoint": models.LatenessPoint,
    "OverviewResponse": models.Overview,
    "LastRunsResponse": models.LastRuns,
}
REQUESTS: dict[str, type[BaseModel]] = {
    "ScheduleTaskRequest": requests.ScheduleRequest,
    "SchedulePatchRequest": requests.ScheduleChange,
    "BulkFilter": requests.ScheduleFilter,
    "BulkRequest": requests.BulkJob,
}
# Fields the server documents only to refuse them: PATCH cannot change who the task is.
REFUSED_ONLY = {"SchedulePatchRequest": {"task_id", "user_id"}}
# Fields the client adds of its own (never sent by the server): see calls.cancel.
CLIENT_ONLY: dict[type[BaseModel], set[str]] = {models.Cancelled: {"already_cancelled"}}
# The keyword arguments of each call, as the TypedDicts declare them, and the model they fill.
KEYWORDS: list[tuple[type[Any], type[BaseModel], set[str]]] = [
    (requests.ScheduleFields, requests.ScheduleRequest, set()),
    (requests.UpdateFields, requests.ScheduleChange, set()),
    (requests.FilterFields, requests.ScheduleFilter, {"all"}),  # all: bulk's every=True
]


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = make_local_settings(tmp_path_factory.mktemp("contract") / "s.db")
    document: dict[str, Any] = create_app(settings, start_engine=False).openapi()
    return document


def disagreements(
    schema: dict[str, Any],
    model: type[BaseModel],
    skip: set[str],
    named: dict[str, Any] | None = None,
) -> list[str]:
    """How the server's schema and the client's model differ: in fields, required ones,
    and each shared field's JSON type and enum (schema_shapes). `named`: the server's
    component schemas, which its $refs name."""
    server = set(schema.get("properties", {})) - skip
    server_required = set(schema.get("required", [])) - skip
    client = set(model.model_fields) - CLIENT_ONLY.get(model, set())
    client_required = {name for name, field in model.model_fields.items() if field.is_required()}
    found = [f"server only: {name}" for name in sorted(server - client)]
    found += [f"client only: {name}" for name in sorted(client - server)]
    found += [
        f"required on the server only: {n}" for n in sorted(server_required - client_required)
    ]
    found += [
        f"required in the client only: {n}" for n in sorted(client_required - server_required)
    ]
    ours = model.model_json_schema()
    for name in sorted(server & client):
        found += differences(
            name,
            facts(schema["properties"][name], named or {}),
            facts(ours["properties"][name], ours.get("$defs", {})),
        )
    return found


def all_disagreements(document: dict[str, Any]) -> dict[str, list[str]]:
    schemas = document["components"]["schemas"]
    found: dict[str, list[str]] = {}
    for name, model in {**RESPONSES, **REQUESTS}.items():
        if name not in schemas:
            found[name] = ["no such schema on the server"]
            continue
        problems = disagreements(schemas[name], model, REFUSED_ONLY.get(name, set()), schemas)
        if problems:
            found[name] = problems
    return found


def test_every_model_agrees_with_the_servers_schema(openapi: dict[str, Any]) -> None:
    assert all_disagreements(openapi) == {}


def test_every_response_schema_of_the_scheduler_routes_has_a_client_model(
    openapi: dict[str, Any],
) -> None:
    """A new route's answer needs a model here (and a method in both clients)."""
    answered: set[str] = set()
    for path, operations in openapi["paths"].items():
        if not path.startswith("/scheduler/"):
            continue
        for operation in operations.values():
            for status, response in operation["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and "$ref" in ref:
                    answered.add(ref["$ref"].rsplit("/", 1)[-1])
    assert answered - set(RESPONSES) == set()


def test_find_sends_the_query_parameters_the_server_reads(openapi: dict[str, Any]) -> None:
    parameters = openapi["paths"]["/scheduler/schedules"]["get"]["parameters"]
    server = {parameter["name"] for parameter in parameters}
    client = (set(requests.FilterFields.__annotations__) - {"labels"}) | {"label"}
    assert server == client | {"limit", "next_token"}


@pytest.mark.parametrize(("keywords", "model", "extra"), KEYWORDS)
def test_the_keyword_arguments_are_the_models_fields(
    keywords: type[Any], model: type[BaseModel], extra: set[str]
) -> None:
    hints = typing.get_type_hints(keywords)
    assert set(hints) | extra == set(model.model_fields)
    required: frozenset[str] = getattr(keywords, "__required_keys__", frozenset())
    assert set(required) == {n for n, f in model.model_fields.items() if f.is_required()}


def _broken(document: dict[str, Any], change: str) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    detail = broken["components"]["schemas"]["ScheduleDetail"]
    if change == "added on the server":
        detail["properties"]["paused_reason"] = {"type": "string"}
    elif change == "renamed on the server":
        detail["properties"]["next_fires"] = detail["properties"].pop("next_run_times")
        detail["required"] = [
            n if n != "next_run_times" else "next_fires" for n in detail["required"]
        ]
    elif change == "made required on the server":
        detail["required"].append("broken")
    return broken


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("added on the server", ["server only: paused_reason"]),
        (
            "renamed on the server",
            [
                "server only: next_fires",
                "client only: next_run_times",
                "required on the server only: next_fires",
                "required in the client only: next_run_times",
            ],
        ),
        ("made required on the server", ["required on the server only: broken"]),
    ],
)
def test_the_contract_fails_on_a_broken_server_document(
    openapi: dict[str, Any], change: str, expected: list[str]
) -> None:
    assert all_disagreements(_broken(openapi, change)) == {"ScheduleDetail": expected}


def test_the_contract_fails_on_a_changed_type_or_an_added_enum_value(
    openapi: dict[str, Any],
) -> None:
    retyped = copy.deepcopy(openapi)
    retyped["components"]["schemas"]["TaskPayload"]["properties"]["user_id"] = {"type": "string"}
    assert all_disagreements(retyped) == {
        "TaskPayload": ["type of user_id: server string, client integer"]
    }
    widened = copy.deepcopy(openapi)
    widened["components"]["schemas"]["RunStatus"]["enum"].append("CANCELLED")
    added = "enum of {}, server only: ['CANCELLED']"
    assert all_disagreements(widened) == {
        "RunOut": [added.format("status")],
        "DeadLetterOut": [added.format("redrive_status")],
        "RedriveResponse": [added.format("status")],
    }
    listed = copy.deepcopy(openapi)  # an item's type, inside an array
    times = listed["components"]["schemas"]["PreviewResponse"]["properties"]["next_run_times"]
    times["items"] = {"type": "integer"}
    assert all_disagreements(listed) == {
        "PreviewResponse": ["type of next_run_times[]: server integer, client string(date-time)"]
    }


def test_the_contract_fails_on_a_broken_client_model(openapi: dict[str, Any]) -> None:
    class Renamed(models.Preview):
        count: int  # a field the server does not send, required

    schema = openapi["components"]["schemas"]["PreviewResponse"]
    assert disagreements(schema, Renamed, set()) == [
        "client only: count",
        "required in the client only: count",
    ]
    optional = schema | {"required": [n for n in schema["required"] if n != "after"]}
    assert disagreements(optional, models.Preview, set()) == ["required in the client only: after"]

    class Retyped(models.Preview):
        timezone: int  # type: ignore[assignment]  # the server sends a string

    assert disagreements(schema, Retyped, set()) == [
        "type of timezone: server string, client integer"
    ]
    run = openapi["components"]["schemas"]["RunOut"]

    class Narrower(models.Run):
        trigger: Literal["schedule"] = "schedule"  # "manual" forgotten, and not tolerant

    assert disagreements(run, Narrower, set(), openapi["components"]["schemas"]) == [
        "enum of trigger, server only: ['manual']"
    ]


def test_the_client_package_needs_nothing_of_the_server(tmp_path: Path) -> None:
    """Imported in a fresh interpreter from client/ alone: httpx and pydantic only."""
    import subprocess
    import sys

    from tests.support.processes import ROOT

    script = (
        "import sys, scheduler_client\n"
        "ours = {'scheduler_api', 'lambda_worker', 'task_contract', 'tests'}\n"
        "print(sorted(ours & {name.split('.')[0] for name in sys.modules}))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT / 'client')!r})\n{script}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "[]"
    pyproject = (ROOT / "client" / "pyproject.toml").read_text()
    assert 'dependencies = ["httpx>=0.27", "pydantic>=2.7"]' in pyproject
