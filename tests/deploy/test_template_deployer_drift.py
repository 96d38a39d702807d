"""The comparison of tests/deploy/test_template.py the other way round: drift on the
DEPLOYER's side (a value deployed that the template does not hold) is caught too. Each case
deploys with the real deployer to moto, changes what was deployed (through boto3 after
deploy, as a reviewer did, or in the deployer's own definitions), and the comparison names
exactly the changed properties.

moto keeps no TracingConfig, EphemeralStorage or DeadLetterConfig given to
UpdateFunctionConfiguration, nor a table's SSESpecification given to UpdateTable: those are
read and compared (tests/support/deployed_kinds.py) but cannot be drifted here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.deploy import deploy
from scripts.deployment import deployer as deployer_module
from scripts.deployment import template, wanted
from scripts.deployment.deployer import Deployer, Report
from scripts.package_lambda import package_of
from tests.deploy.test_template import REGION, Deployment, config, tiny_zip

EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
NAMES = config()


def deploy_to_moto(tmp_path: Path, deployer_class: type[Deployer] = Deployer) -> Deployment:
    session = boto3.session.Session(region_name=REGION)
    deployer = deployer_class(
        session, config(), sleep=lambda _: None, report=Report(print_line=lambda _: None)
    )
    return Deployment(session, deploy(deployer, package_of(tiny_zip(tmp_path / "w.zip"))))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def changed(deployment: Deployment) -> list[str]:
    return sorted(line.split(":")[0] for line in deployment.differences(template.build(config())))


def queue_url(clients: dict[str, Any], name: str) -> str:
    url: str = clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"]
    return url


def attach_everything(clients: dict[str, Any]) -> None:
    iam = clients["iam"]
    arn = iam.create_policy(PolicyName="everything", PolicyDocument=EVERYTHING)
    for role in (NAMES.execution_role_name, NAMES.scheduler_role_name):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn["Policy"]["Arn"])


def boundary(clients: dict[str, Any]) -> None:
    arn = clients["iam"].create_policy(PolicyName="b", PolicyDocument=EVERYTHING)
    clients["iam"].put_role_permissions_boundary(
        RoleName=NAMES.execution_role_name, PermissionsBoundary=arn["Policy"]["Arn"]
    )


def delay(clients: dict[str, Any]) -> None:
    url = queue_url(clients, NAMES.failure_queue_name)
    clients["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "900"})


def queue_key(clients: dict[str, Any]) -> None:
    url = queue_url(clients, NAMES.scheduler_dlq_name)
    clients["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "alias/k"})


def queue_tag(clients: dict[str, Any]) -> None:
    url = queue_url(clients, NAMES.failure_queue_name)
    clients["sqs"].tag_queue(QueueUrl=url, Tags={"team": "other"})


def concurrency(clients: dict[str, Any]) -> None:
    clients["lambda"].put_function_concurrency(
        FunctionName=NAMES.function_name, ReservedConcurrentExecutions=1
    )


def layer(clients: dict[str, Any]) -> None:
    lam = clients["lambda"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("python/extra.py", "")
    arn = lam.publish_layer_version(LayerName="extra", Content={"ZipFile": zipped.getvalue()})
    lam.update_function_configuration(
        FunctionName=NAMES.function_name, Layers=[arn["LayerVersionArn"]]
    )


def recovery(clients: dict[str, Any]) -> None:
    clients["dynamodb"].update_continuous_backups(
        TableName=NAMES.ledger_table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def stream(clients: dict[str, Any]) -> None:
    clients["dynamodb"].update_table(
        TableName=NAMES.schedule_table_name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )


def group_tag(clients: dict[str, Any]) -> None:
    scheduler = clients["scheduler"]
    arn = scheduler.get_schedule_group(Name=NAMES.group_name)["Arn"]
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "other"}])


AFTER_DEPLOY: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "a managed *:* policy on both roles": (
        attach_everything,
        ["ExecutionRole.ManagedPolicyArns", "SchedulerRole.ManagedPolicyArns"],
    ),
    "a permissions boundary": (boundary, ["ExecutionRole.PermissionsBoundary"]),
    "DelaySeconds=900": (delay, ["FailureQueue.DelaySeconds"]),
    "a queue attribute the template lacks": (
        queue_key,  # SQS adds the key's reuse period (300 s) with it
        [
            "SchedulerDeadLetterQueue.KmsDataKeyReusePeriodSeconds",
            "SchedulerDeadLetterQueue.KmsMasterKeyId",
        ],
    ),
    "a queue tag": (queue_tag, ["FailureQueue.Tags"]),
    "reserved concurrency 1": (concurrency, ["WorkerFunction.ReservedConcurrentExecutions"]),
    "a layer": (layer, ["WorkerFunction.Layers"]),
    "point-in-time recovery": (recovery, ["LedgerTable.PointInTimeRecoverySpecification"]),
    "a stream": (stream, ["ScheduleTable.StreamSpecification"]),
    "a group tag": (group_tag, ["ScheduleGroup.Tags"]),
}  # fmt: skip


@pytest.mark.usefixtures("aws")
def test_a_fresh_deployment_matches_both_ways(tmp_path: Path) -> None:
    assert deploy_to_moto(tmp_path).differences(template.build(config())) == []


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("drift", sorted(AFTER_DEPLOY))
def test_a_value_deployed_that_the_template_lacks_is_caught(tmp_path: Path, drift: str) -> None:
    change, expected = AFTER_DEPLOY[drift]
    deployment = deploy_to_moto(tmp_path)
    change(deployment.clients)
    assert changed(deployment) == sorted(expected)


class AttachingDeployer(Deployer):
    """A deployer that also attaches a managed policy to each role it creates."""

    def ensure_role(
        self, name: str, kind: str, trust: dict[str, Any], permissions: dict[str, Any]
    ) -> tuple[str, bool]:
        arn, created = super().ensure_role(name, kind, trust, permissions)
        policy = self.iam.create_policy(PolicyName=f"{name}-extra", PolicyDocument=EVERYTHING)
        self.iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
        return arn, created


@pytest.mark.usefixtures("aws")
def test_the_deployer_attaching_a_managed_policy_is_caught(tmp_path: Path) -> None:
    deployment = deploy_to_moto(tmp_path, AttachingDeployer)
    assert changed(deployment) == [
        "ExecutionRole.ManagedPolicyArns",
        "SchedulerRole.ManagedPolicyArns",
    ]


@pytest.mark.usefixtures("aws")
def test_the_deployer_setting_a_queue_attribute_the_template_lacks_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attributes = {**wanted.QUEUE_ATTRIBUTES, "VisibilityTimeout": "120"}
    monkeypatch.setattr(deployer_module, "QUEUE_ATTRIBUTES", attributes)  # the deployer's only
    deployment = deploy_to_moto(tmp_path)
    assert changed(deployment) == [
        "FailureQueue.VisibilityTimeout",
        "SchedulerDeadLetterQueue.VisibilityTimeout",
    ]
