"""`make template` against `make deploy-lambda`: the real deployer deploys to moto, then every
resource of the (SAM-translated) template is checked against the deployed one, and every
deployed resource must be in the template. A definition changed on the template's side only
is caught."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scheduler_api.backends.aws.index import keys as index_keys
from scripts.deploy import deploy
from scripts.deployment import policies, template, wanted
from scripts.deployment.config import DeployConfig
from scripts.deployment.deployer import Deployer, Report
from scripts.package_lambda import package_of
from tests.support.cloudformation import Stack, translate
from tests.support.deployed_resources import differences

REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
SERVICES = ("sqs", "dynamodb", "iam", "lambda", "scheduler")


def config(**settings: Any) -> DeployConfig:
    return DeployConfig(_env_file=None, AWS_REGION=REGION, **settings)


def tiny_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lambda_worker/__init__.py", "")
    return path


class Deployment:
    """What `deploy` created on moto, the settings it printed, and clients to read it."""

    def __init__(self, session: boto3.session.Session, settings: dict[str, str]) -> None:
        self.settings = settings
        self.clients = {name: session.client(name) for name in SERVICES}  # type: ignore[call-overload]

    def stack(self, document: dict[str, Any], **parameters: str) -> Stack:
        values = {"CodeBucket": "code-bucket", **parameters}
        return Stack(translate(document, {**PSEUDO, **values}), {**PSEUDO, **values})

    def differences(self, document: dict[str, Any], **parameters: str) -> list[str]:
        return differences(self.stack(document, **parameters), self.clients)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            session = boto3.session.Session(region_name=REGION)
            deployer = Deployer(
                session, config(), sleep=lambda _: None, report=Report(print_line=lambda _: None)
            )
            package = package_of(tiny_zip(tmp_path_factory.mktemp("zip") / "worker.zip"))
            yield Deployment(session, deploy(deployer, package))


def test_every_template_resource_matches_what_deploy_created(deployment: Deployment) -> None:
    assert deployment.differences(template.build(config())) == []


def test_everything_deploy_created_is_in_the_template(deployment: Deployment) -> None:
    clients = deployment.clients
    deployed = {
        "AWS::SQS::Queue": {
            url.rsplit("/", 1)[1] for url in clients["sqs"].list_queues()["QueueUrls"]
        },
        "AWS::DynamoDB::Table": set(clients["dynamodb"].list_tables()["TableNames"]),
        "AWS::IAM::Role": {r["RoleName"] for r in clients["iam"].list_roles()["Roles"]},
        "AWS::Serverless::Function": {
            f["FunctionName"] for f in clients["lambda"].list_functions()["Functions"]
        },
        "AWS::Scheduler::ScheduleGroup": {
            g["Name"] for g in clients["scheduler"].list_schedule_groups()["ScheduleGroups"]
        }
        - {"default"},
    }
    named = {"QueueName", "TableName", "RoleName", "FunctionName", "Name"}
    in_template: dict[str, set[str]] = {}
    for resource in template.build(config())["Resources"].values():
        if "Condition" in resource:
            continue  # optional, off by default: deploy never creates it
        name = next(v for k, v in resource["Properties"].items() if k in named)
        in_template.setdefault(resource["Type"], set()).add(name)
    assert in_template == deployed


def test_the_outputs_are_the_settings_deploy_prints(deployment: Deployment) -> None:
    stack = deployment.stack(template.build(config()))
    assert differences(stack, deployment.clients) == []  # fills in the deployed names
    outputs = {
        output["Description"]: stack.resolve(output["Value"])
        for output in stack.template["Outputs"].values()
        if stack.active(output)  # ApiUrl: only with DeployApi=true
    }
    assert outputs == deployment.settings


def drift_queue(patch: pytest.MonkeyPatch) -> None:
    patch.setitem(wanted.QUEUE_ATTRIBUTES, "MessageRetentionPeriod", "345600")


def drift_ledger_key(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(wanted, "LEDGER_KEY_SCHEMA", [{"AttributeName": "task_id", "KeyType": "HASH"}])


def drift_index(patch: pytest.MonkeyPatch) -> None:
    index = {**index_keys.GLOBAL_INDEXES[0], "Projection": {"ProjectionType": "KEYS_ONLY"}}
    patch.setattr(index_keys, "GLOBAL_INDEXES", [index])


def drift_policy(patch: pytest.MonkeyPatch) -> None:
    original = policies.execution_permissions

    def wider(*arns: Any) -> policies.Document:
        document = original(*arns)
        document["Statement"][2]["Action"] = [*document["Statement"][2]["Action"], "dynamodb:Scan"]
        return document

    patch.setattr(policies, "execution_permissions", wider)


def drift_trust(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(policies, "scheduler_trust", lambda _account: policies.lambda_trust())


def drift_environment(patch: pytest.MonkeyPatch) -> None:
    original = wanted.function_environment
    patch.setattr(wanted, "function_environment", lambda *a: {**original(*a), "EXTRA": "1"})


def drift_settings(patch: pytest.MonkeyPatch) -> None:
    patch.setenv("LAMBDA_MEMORY_MB", "1024")
    patch.setenv("LAMBDA_MAX_RETRIES", "1")


def drift_group(patch: pytest.MonkeyPatch) -> None:
    patch.setenv("SCHEDULER_GROUP_NAME", "another-group")


DRIFTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], list[str]]] = {
    "queue attribute": (
        drift_queue,
        ["FailureQueue.MessageRetentionPeriod", "SchedulerDeadLetterQueue.MessageRetentionPeriod"],
    ),
    "ledger key": (drift_ledger_key, ["LedgerTable.KeySchema"]),
    "index projection": (drift_index, ["ScheduleTable.GlobalSecondaryIndexes"]),
    "policy action": (drift_policy, ["ExecutionRole.Policies"]),
    "trust policy": (drift_trust, ["SchedulerRole.AssumeRolePolicyDocument"]),
    "function environment": (drift_environment, ["WorkerFunction.Environment"]),
    "memory and retries": (
        drift_settings,
        [
            "WorkerFunction.Environment",
            "WorkerFunction.MemorySize",
            "WorkerFunctionEventInvokeConfig.MaximumRetryAttempts",
        ],
    ),
    "group name": (drift_group, ["ScheduleGroup: another-group was not deployed"]),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_a_definition_drifted_on_the_template_side_is_caught(
    deployment: Deployment, drift: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    change, expected = DRIFTS[drift]
    change(monkeypatch)
    found = deployment.differences(template.build(DeployConfig(_env_file=None)))
    assert sorted(
        line.split(":")[0] if "was not" not in line else line for line in found
    ) == sorted(expected)


def test_a_callback_secret_is_a_parameter_never_written_into_the_template(
    tmp_path: Path,
) -> None:
    secret = "a-callback-secret-of-32-characters!"
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        signed = config(SCHEDULER_CALLBACK_SECRET=secret)
        deployer = Deployer(
            session, signed, sleep=lambda _: None, report=Report(print_line=lambda _: None)
        )
        deployment = Deployment(session, deploy(deployer, package_of(tiny_zip(tmp_path / "w.zip"))))
        document = template.build(signed)
        assert secret not in str(document)
        assert deployment.differences(document, CallbackSecret=secret) == []
        unsigned = deployment.differences(document)  # the parameter left empty
        assert [line.split(":")[0] for line in unsigned] == ["WorkerFunction.Environment"]
