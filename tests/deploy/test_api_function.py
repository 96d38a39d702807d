"""The template's optional API function: the real Mangum handler
(scheduler_api.lambda_handler) serves function-URL events (payload format 2.0) with the
environment the template gives it, against what the real deployer created on moto; its role
holds exactly iam/scheduler-api-policy.json."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scheduler_api.lambda_handler import cold_start, first_token, handler
from scheduler_api.main import app
from scripts.deploy import deploy
from scripts.deployment import template
from scripts.deployment.config import DeployConfig
from scripts.deployment.deployer import Deployer, Report
from scripts.package_lambda import API_REQUIREMENTS, API_SOURCE, build, package_of
from tests.conftest import LOCAL_ARCH, LOCAL_RUNTIME, task_body
from tests.deploy.test_template import Deployment
from tests.support.cloudformation import Stack, translate
from tests.support.deployed_resources import differences
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.support.processes import ROOT

REGION, ACCOUNT = "us-east-1", "123456789012"
TOKEN = "an-api-token-0123456789"
PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "CodeBucket": "code-bucket",
    "DeployApi": "true",
    "ApiToken": TOKEN,
}
IAM_CALLER = {
    "iam": {
        "accessKey": "AKIAEXAMPLE",
        "accountId": ACCOUNT,
        "callerId": "AIDAEXAMPLE",
        "userArn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAEXAMPLE",
    }
}


def url_event(method: str, path: str, body: Any = None, signed: bool = True) -> dict[str, Any]:
    """What a Lambda function URL sends (payload format 2.0)."""
    context: dict[str, Any] = {
        "accountId": "anonymous",
        "apiId": "abcdefgh",
        "domainName": f"abcdefgh.lambda-url.{REGION}.on.aws",
        "domainPrefix": "abcdefgh",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "test",
        },
        "requestId": "request-1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2030:00:00:00 +0000",
        "timeEpoch": 1893456000000,
    }
    headers = {"host": context["domainName"], "content-type": "application/json"}
    if signed:
        context["authorizer"] = IAM_CALLER
        headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/..., Signature=00"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": context,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any]) -> tuple[int, Any]:
    response: dict[str, Any] = handler(event, LAMBDA_CONTEXT)
    return response["statusCode"], json.loads(response["body"] or "null")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Any]]:
    """Deployed by the real deployer; the API function's environment set as the template
    gives it (its references resolved against that deployment), as Lambda would."""
    monkeypatch.chdir(tmp_path)  # no developer .env
    cold_start.end()  # a cold start
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        config = DeployConfig(_env_file=None, AWS_REGION=REGION)
        deployer = Deployer(
            session, config, sleep=lambda _: None, report=Report(print_line=lambda _: None)
        )
        with zipfile.ZipFile(tmp_path / "w.zip", "w") as archive:
            archive.writestr("lambda_worker/__init__.py", "")
        deploy(deployer, package_of(tmp_path / "w.zip"))
        resolved = Stack(translate(template.build(config), PARAMETERS), dict(PARAMETERS))
        clients = Deployment(session, {}).clients
        not_deployed = differences(resolved, clients)  # fills in every deployed name
        assert sorted(not_deployed) == [
            "ApiFunction: FastAPI_Scheduled_Tasks-api was not deployed",
            "ApiFunctionUrl: no comparison for AWS::Lambda::Url",
            "ApiRole: FastAPI_Scheduled_Tasks-api was not deployed",
        ]
        function = resolved.template["Resources"]["ApiFunction"]["Properties"]
        for name, value in resolved.resolve(function["Environment"]["Variables"]).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_REGION", REGION)  # Lambda's own
        try:
            yield resolved, clients
        finally:
            cold_start.end()  # its clients were moto's


def test_health_over_a_function_url(stack: tuple[Stack, Any]) -> None:
    status, body = call(url_event("GET", "/health"))
    assert status == 200, body
    assert body["status"] == "ok"


def test_an_iam_signed_caller_schedules_a_task(stack: tuple[Stack, Any]) -> None:
    resolved, clients = stack
    status, body = call(url_event("POST", "/scheduler/schedule", task_body()))
    assert status == 200, body
    schedule = clients["scheduler"].get_schedule(GroupName="scheduled-tasks", Name="task-123")
    assert schedule["Target"]["Arn"] == resolved.attributes[("WorkerFunction", "Arn")]
    assert schedule["Target"]["RoleArn"] == resolved.attributes[("SchedulerRole", "Arn")]


def test_a_caller_lambda_did_not_verify_needs_a_token_of_its_own(stack: tuple[Stack, Any]) -> None:
    unsigned = url_event("POST", "/scheduler/schedule", task_body(), signed=False)
    assert call(unsigned)[0] == 401
    unsigned["headers"]["authorization"] = f"Bearer {TOKEN}"
    assert call(unsigned)[0] == 200


def test_the_token_is_read_once_per_cold_start(
    stack: tuple[Stack, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert call(url_event("GET", "/health"))[0] == 200
    monkeypatch.setenv("SCHEDULER_API_TOKENS", "another-token-0123456789")
    assert first_token() == TOKEN  # the environment is not read again


def test_an_iam_caller_is_logged_with_the_request_without_secrets(
    stack: tuple[Stack, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    """As the app's own logging writes it (one JSON object a line on stderr, at INFO)."""
    assert call(url_event("POST", "/scheduler/schedule", task_body()))[0] == 200
    written = capfd.readouterr().err
    records = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert [
        (r["level"], r["message"]) for r in records if r["logger"] == "scheduler_api.lambda"
    ] == [("INFO", f"IAM caller {IAM_CALLER['iam']['userArn']}: POST /scheduler/schedule")]
    assert TOKEN not in written
    assert "AWS4-HMAC-SHA256" not in written


@pytest.mark.parametrize("authorizer", ["forged", ["iam"], {"iam": "forged"}, {"iam": []}, None])
def test_a_forged_authorizer_is_not_an_iam_caller(
    stack: tuple[Stack, Any], authorizer: Any
) -> None:
    event = url_event("POST", "/scheduler/schedule", task_body(), signed=False)
    event["requestContext"]["authorizer"] = authorizer
    assert call(event)[0] == 401


@pytest.mark.parametrize("context", ["forged", ["http"], 7])
def test_a_request_context_that_is_not_an_object_is_refused(
    stack: tuple[Stack, Any], context: Any
) -> None:
    event = url_event("GET", "/health")
    event["requestContext"] = context
    status, body = call(event)
    assert status == 400
    assert body == {"detail": "malformed event: requestContext is not an object"}


def test_the_api_role_holds_exactly_the_published_policy(stack: tuple[Stack, Any]) -> None:
    resolved, _ = stack
    role = resolved.resolve(resolved.template["Resources"]["ApiRole"]["Properties"])
    permissions = next(p for p in role["Policies"] if p["PolicyName"] == "permissions")
    published = (ROOT / "iam" / "scheduler-api-policy.json").read_text()
    filled = published.replace("ACCOUNT", ACCOUNT).replace("REGION", REGION)
    assert permissions["PolicyDocument"] == json.loads(filled)


# What Lambda's Python runtime provides, and so the zip leaves out.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
SMOKE = """
import json, sys, types
sys.path[:0] = sys.argv[1:3]
from scheduler_api.lambda_handler import handler
print(json.dumps(handler(json.loads(sys.stdin.read()), types.SimpleNamespace())))
"""


def runtime_provided(directory: Path) -> Path:
    """A folder with only what the Lambda runtime adds to the zip: boto3 and its needs."""
    directory.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (directory / source.name).symlink_to(source)
    return directory


def test_the_api_zip_alone_serves_a_function_url_event(tmp_path: Path) -> None:
    """make package-api's zip, unpacked and run by an interpreter with no site-packages:
    nothing the API imports is missing from requirements-api-lambda.txt."""
    package = build(LOCAL_RUNTIME, LOCAL_ARCH, tmp_path / "api.zip", API_REQUIREMENTS, API_SOURCE)
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unpacked")
    assert "scheduler_api/lambda_handler.py" in names
    assert "task_contract.py" in names
    assert not [n for n in names if n.startswith(("lambda_worker/", "boto3/", "uvicorn/"))]
    environment = {
        "SCHEDULER_BACKEND": "aws",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SCHEDULER_LAMBDA_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker",
        "SCHEDULER_TARGET_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
        "SCHEDULER_API_TOKENS": TOKEN,
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SMOKE, str(tmp_path / "unpacked"),
         str(runtime_provided(tmp_path / "runtime"))],
        input=json.dumps(url_event("GET", "/health")),
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert (response["statusCode"], json.loads(response["body"])["status"]) == (200, "ok")


async def _nothing() -> None:
    return None


def test_an_invocation_after_asyncio_run_in_the_same_thread_still_runs(
    stack: tuple[Stack, Any],
) -> None:
    """asyncio.run() leaves its thread with no event loop, and Mangum asks for one: the
    next invocation in that warm container raised RuntimeError before the fix."""
    asyncio.run(_nothing())
    status, body = call(url_event("GET", "/health"))
    assert status == 200, body


def test_the_apps_start_up_runs_once_per_cold_start_not_per_invocation(
    stack: tuple[Stack, Any],
) -> None:
    """Mangum's lifespan="auto" ran the app's start-up around every invocation, building
    the settings and every AWS client again for each request."""
    assert call(url_event("GET", "/health"))[0] == 200
    runtime = app.state.runtime
    assert call(url_event("GET", "/scheduler/schedules"))[0] == 200
    assert call(url_event("GET", "/health"))[0] == 200
    assert app.state.runtime is runtime
