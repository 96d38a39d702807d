"""The servers the client tests talk to: one per backend for the whole session (each test
uses task_ids of its own), and a client for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scheduler_client import SchedulerClient

from tests.conftest import API_TOKEN
from tests.support.client_servers import Served, aws_server, local_server


@pytest.fixture(scope="session")
def local_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with local_server(tmp_path_factory.mktemp("client-local")) as served:
        yield served


@pytest.fixture(scope="session")
def aws_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with aws_server(tmp_path_factory.mktemp("client-aws")) as served:
        yield served


@pytest.fixture(params=["local", "aws"])
def served(request: pytest.FixtureRequest) -> Served:
    """The API on each backend in turn."""
    found: Served = request.getfixturevalue(f"{request.param}_served")
    return found


@pytest.fixture
def scheduler(served: Served) -> Iterator[SchedulerClient]:
    with SchedulerClient(served.url, token=API_TOKEN) as client:
        yield client
