"""Schemathesis against the scheduler API's own OpenAPI schema: generated requests to every
operation, with a valid token; no 5xx, and every response as the schema says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from scheduler_api.main import create_app
from tests.conftest import AUTH, FakeClock, make_local_settings

EXAMPLES_PER_OPERATION = 150
MINIMUM_CASES = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def started_app(tmp: Path) -> Iterator[FastAPI]:
    app = create_app(make_local_settings(tmp / "fuzz.db"), clock=FakeClock(), start_engine=False)
    with TestClient(app):  # runs the lifespan; the state stays for the generated calls
        yield app


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    yield from started_app(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: FastAPI) -> OpenApiSchema:
    loaded: OpenApiSchema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    return loaded


def test_every_operation_conforms_to_the_schema(fuzz_schema: OpenApiSchema) -> None:
    """Hypothesis drives each operation's strategy directly (schemathesis' pytest plugin
    does not load under this pytest); the first failing case fails the test."""
    cases: Counter[str] = Counter()
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Case[Any]) -> None:
            cases[case.operation.label] += 1
            case.call_and_validate(headers=AUTH, checks=CHECKS)

        call()
    print(f"schemathesis: {sum(cases.values())} cases over {len(cases)} operations")
    assert len(cases) == len(list(fuzz_schema.get_all_operations()))
    assert sum(cases.values()) >= MINIMUM_CASES
