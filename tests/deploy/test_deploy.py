"""make deploy-lambda / make destroy against a real moto_server over HTTP."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from scripts.deploy import main
from scripts.package_lambda import Package, package_of
from tests.conftest import task_body
from tests.support.aws_faults import SendRecorder, aws_error, aws_query_error, hook
from tests.support.processes import free_port, moto_server, scheduler_api

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION = "FastAPI_Scheduled_Tasks"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
FAILURE_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{FUNCTION}-failures"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{FUNCTION}-scheduler-dlq"
GROUP = "scheduled-tasks"
WRITES = ("Create", "Update", "Put", "Delete", "Set")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    with moto_server() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("AWS_REGION", REGION)
        yield url


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)  # type: ignore[call-overload]


def deploy(
    *args: str, recorder: SendRecorder | None = None, sleeps: list[float] | None = None
) -> int:
    session = boto3.session.Session(region_name=REGION)
    if recorder is not None:
        hook(session.events, "before-send", recorder)
    record = sleeps if sleeps is not None else []
    return main(list(args), session=session, sleep=record.append)


def output_lines(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    lines = capsys.readouterr().out.splitlines()
    return [line.split(None, 1) for line in lines if line.split(None, 1)[:1] != []]


def statuses(lines: list[list[str]]) -> list[str]:
    known = ("created", "updated", "unchanged", "would", "deleted", "absent")
    return [parts[0] for parts in lines if parts[0] in known]


def statement(document: Any, sid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in document["Statement"] if s.get("Sid") == sid)
    return found


def test_deploy_then_redeploy_then_schedule_then_destroy(
    endpoint: str, local_package: Package, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert deploy("deploy", "--zip", str(local_package.path)) == 0
    first = output_lines(capsys)
    assert statuses(first) == ["created"] * 9
    printed = " ".join(" ".join(parts) for parts in first)
    assert "iam/scheduler-api-policy.json" in printed  # what the API's identity needs
    assert "lambda:InvokeFunction" in printed
    iam, lambda_, sqs = (client(s, endpoint) for s in ("iam", "lambda", "sqs"))

    execution = iam.get_role(RoleName=f"{FUNCTION}-execution")["Role"]
    principal = execution["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "lambda.amazonaws.com"}
    permissions = iam.get_role_policy(RoleName=f"{FUNCTION}-execution", PolicyName="permissions")
    logs = statement(permissions["PolicyDocument"], "OwnLogs")
    assert (
        logs["Resource"][0] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{FUNCTION}"
    )
    assert statement(permissions["PolicyDocument"], "OnFailureDestination")["Resource"] == (
        FAILURE_QUEUE_ARN
    )
    ledger_access = statement(permissions["PolicyDocument"], "TaskLedger")
    assert ledger_access["Resource"] == (
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{FUNCTION}-ledger"
    )
    assert sorted(ledger_access["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]

    scheduler_role = iam.get_role(RoleName=f"{FUNCTION}-scheduler")["Role"]
    trust = scheduler_role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    permissions = iam.get_role_policy(RoleName=f"{FUNCTION}-scheduler", PolicyName="permissions")
    invoke = statement(permissions["PolicyDocument"], "InvokeWorker")
    assert (invoke["Action"], invoke["Resource"]) == (
        "lambda:InvokeFunction",
        [FUNCTION_ARN, f"{FUNCTION_ARN}:*"],
    )
    assert statement(permissions["PolicyDocument"], "DeadLetter")["Resource"] == DLQ_ARN

    function = lambda_.get_function_configuration(FunctionName=FUNCTION)
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == "lambda_worker.handler.lambda_handler"
    assert (function["MemorySize"], function["Timeout"]) == (512, 60)
    assert function["Role"] == execution["Arn"]
    assert function["CodeSha256"] == local_package.code_sha256
    invoke_config = lambda_.get_function_event_invoke_config(FunctionName=FUNCTION)
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["MaximumEventAgeInSeconds"] == 3600
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == FAILURE_QUEUE_ARN
    for queue in (f"{FUNCTION}-failures", f"{FUNCTION}-scheduler-dlq"):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"
    client("scheduler", endpoint).get_schedule_group(Name=GROUP)
    dynamodb = client("dynamodb", endpoint)
    table = dynamodb.describe_table(TableName=f"{FUNCTION}-ledger")["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["task_id", "scheduled_time"]
    ttl = dynamodb.describe_time_to_live(TableName=f"{FUNCTION}-ledger")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    assert function["Environment"]["Variables"]["LEDGER_TABLE"] == f"{FUNCTION}-ledger"
    index = dynamodb.describe_table(TableName=f"{FUNCTION}-schedules")["Table"]
    assert index["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [g["IndexName"] for g in index["GlobalSecondaryIndexes"]] == ["by_view"]
    assert function["Environment"]["Variables"]["LEDGER_IN_PROGRESS_TIMEOUT_SECONDS"] == "60"
    assert function["Environment"]["Variables"]["LAMBDA_MAX_RETRIES"] == "2"

    # Again: every line unchanged, nothing written, no code uploaded.
    recorder = SendRecorder()
    assert deploy("deploy", "--zip", str(local_package.path), recorder=recorder) == 0
    assert statuses(output_lines(capsys)) == ["unchanged"] * 9
    assert [op for op in recorder.operations if op.startswith(WRITES)] == []
    again = lambda_.get_function_configuration(FunctionName=FUNCTION)
    assert again["LastModified"] == function["LastModified"]

    # The settings it printed run the scheduler API against what it deployed.
    settings = dict(
        parts[0].split("=", 1)
        for parts in first
        if "=" in parts[0] and not parts[0].startswith("#")
    )
    assert settings["SCHEDULER_LAMBDA_ARN"] == FUNCTION_ARN
    assert settings["LEDGER_TABLE"] == f"{FUNCTION}-ledger"
    assert settings["SCHEDULE_TABLE"] == f"{FUNCTION}-schedules"
    env = {**settings, "AWS_ENDPOINT_URL": endpoint}
    with scheduler_api(env, cwd=tmp_path) as api:
        response = httpx.post(f"{api}/scheduler/schedule", json=task_body(), timeout=10)
        assert response.status_code == 200, response.text
        found = httpx.get(f"{api}/scheduler/schedules", params={"user_id": 456}, timeout=10)
        assert [i["task_id"] for i in found.json()["schedules"]] == ["task-123"]
    schedule = client("scheduler", endpoint).get_schedule(GroupName=GROUP, Name="task-123")
    assert schedule["Target"]["Arn"] == FUNCTION_ARN
    assert schedule["Target"]["RoleArn"] == scheduler_role["Arn"]
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": DLQ_ARN}

    assert deploy("destroy", "--yes") == 0
    assert statuses(output_lines(capsys)) == ["deleted"] * 9
    assert lambda_.list_functions()["Functions"] == []
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert client("dynamodb", endpoint).list_tables()["TableNames"] == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        client("scheduler", endpoint).get_schedule_group(Name=GROUP)
    assert deploy("destroy", "--yes") == 0  # nothing left: every line says absent
    assert set(statuses(output_lines(capsys))) == {"absent"}


def test_dry_run_shows_the_plan_and_changes_nothing(
    endpoint: str, local_package: Package, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy("deploy", "--dry-run", "--zip", str(local_package.path)) == 0
    lines = output_lines(capsys)
    assert [parts[1].split()[0] for parts in lines if parts[0] == "would"] == ["create"] * 9
    assert client("lambda", endpoint).list_functions()["Functions"] == []
    assert client("iam", endpoint).list_roles()["Roles"] == []


def test_changed_settings_and_code_are_updated(
    endpoint: str,
    local_package: Package,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert deploy("deploy", "--zip", str(local_package.path)) == 0
    capsys.readouterr()
    changed = tmp_path / "changed.zip"
    shutil.copy(local_package.path, changed)
    with zipfile.ZipFile(changed, "a") as archive:
        archive.writestr("lambda_worker/VERSION", "2")
    monkeypatch.setenv("LAMBDA_MEMORY_MB", "1024")
    assert deploy("deploy", "--zip", str(changed)) == 0
    lines = [" ".join(parts) for parts in output_lines(capsys)]
    assert any(line.startswith("updated") and "(MemorySize)" in line for line in lines)
    assert any(line.startswith("updated") and "lambda code" in line for line in lines)
    function = client("lambda", endpoint).get_function_configuration(FunctionName=FUNCTION)
    assert function["MemorySize"] == 1024
    assert function["CodeSha256"] == package_of(changed).code_sha256


def test_a_new_role_still_propagating_is_waited_out(endpoint: str, local_package: Package) -> None:
    not_yet = aws_error(
        400,
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
    )
    recorder = SendRecorder()
    session = boto3.session.Session(region_name=REGION)
    create_once = SendRecorder([not_yet])
    hook(session.events, "before-send.lambda.CreateFunction", create_once)
    hook(session.events, "before-send", recorder)
    sleeps: list[float] = []
    assert (
        main(["deploy", "--zip", str(local_package.path)], session=session, sleep=sleeps.append)
        == 0
    )
    assert create_once.operations == ["CreateFunction", "CreateFunction"]
    assert sleeps[0] == 2.0
    assert client("lambda", endpoint).get_function(FunctionName=FUNCTION)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    local_package: Package,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance for keys
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["deploy", "--zip", str(local_package.path)]) == 1
    assert one_error_line(capsys).startswith("deploy: no AWS credentials")


def test_an_unreachable_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    local_package: Package,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["deploy", "--zip", str(local_package.path)]) == 1
    line = one_error_line(capsys)
    assert line.startswith("deploy: cannot reach http://127.0.0.1:")
    assert "AWS_REGION=" in line


def test_access_denied_is_one_line(
    endpoint: str, local_package: Package, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = aws_query_error(403, "AccessDenied", "User: arn:aws:iam::1:user/ci is not authorized")
    session = boto3.session.Session(region_name=REGION)
    hook(session.events, "before-send.iam.CreateRole", SendRecorder([denied]))
    assert main(["deploy", "--zip", str(local_package.path)], session=session) == 1
    line = one_error_line(capsys)
    assert line.startswith("deploy: access denied for CreateRole")
    assert "iam/deployer-policy.json" in line


def test_destroy_asks_first(
    endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 - closed by pytest
    assert main(["destroy"]) == 1
    assert "without --yes" in one_error_line(capsys)
