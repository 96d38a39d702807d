"""The template passes the linters CloudFormation users run: cfn-lint (no error or warning,
as `make lint` checks), the SAM translator (what `sam deploy` and CloudFormation's transform
run), and parliament over every policy in it, as over the deployer's. Each is also shown to
refuse a broken template, so a pass means something."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cfnlint.api import lint
from samtranslator.model.exceptions import InvalidDocumentException

from scripts.deployment import policies, template
from scripts.deployment.config import DeployConfig
from tests.deploy.test_iam_policies import findings
from tests.support.cloudformation import Stack, translate

REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
PARAMETERS = {**PSEUDO, "CodeBucket": "code-bucket"}
WITH_API = {**PARAMETERS, "DeployApi": "true", "ApiToken": "an-api-token-0123456789"}

# Findings that are the point of a policy (as in test_iam_policies.EXPLAINED).
EXPLAINED = {
    # A trust policy names a Principal, never a Resource; parliament reads identity policies.
    ("*/trust", "MALFORMED"),
    # CreateSchedule hands EventBridge the scheduler role: iam:PassRole on that one role, to
    # scheduler.amazonaws.com only (as for iam/scheduler-api-policy.json).
    ("ApiRole/permissions", "PERMISSIONS_MANAGEMENT_ACTIONS"),
}


ARN_FORMS = {
    "AWS::SQS::Queue": ("sqs", "{}"),
    "AWS::DynamoDB::Table": ("dynamodb", "table/{}"),
    "AWS::IAM::Role": ("iam", "role/{}"),
    "AWS::Lambda::Function": ("lambda", "function:{}"),
    "AWS::Scheduler::ScheduleGroup": ("scheduler", "schedule-group/{}"),
}


def document() -> dict[str, Any]:
    return template.build(DeployConfig(_env_file=None))


def lint_messages(candidate: dict[str, Any]) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in lint(json.dumps(candidate), regions=[REGION])]


def test_cfn_lint_finds_nothing() -> None:
    assert lint_messages(document()) == []


def test_cfn_lint_would_catch_a_bad_value() -> None:
    broken = document()
    broken["Resources"]["WorkerFunction"]["Properties"]["MemorySize"] = 99999
    assert [line.split()[0] for line in lint_messages(broken)] == ["E3034"]


def test_the_sam_translator_accepts_it() -> None:
    translated = translate(document(), PARAMETERS)
    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in types)
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig"} <= types


def test_the_sam_translator_refuses_a_broken_one() -> None:
    broken = document()
    invoke = broken["Resources"]["WorkerFunction"]["Properties"]["EventInvokeConfig"]
    invoke["DestinationConfig"]["OnFailure"]["Type"] = "Carrier pigeon"
    with pytest.raises(InvalidDocumentException):
        translate(broken, PARAMETERS)


def template_policies() -> dict[str, Any]:
    """Every policy document in the translated template, its intrinsics filled in with
    ARNs of this account, named `<role>/trust` or `<role>/<policy name>`."""
    translated = translate(document(), WITH_API)
    stack = Stack(copy.deepcopy(translated), dict(WITH_API))
    for logical_id, resource in translated["Resources"].items():
        stack.refs[logical_id] = logical_id
        if resource["Type"] in ARN_FORMS:
            service, form = ARN_FORMS[resource["Type"]]
            where = "" if service == "iam" else REGION
            arn = f"arn:aws:{service}:{where}:{ACCOUNT}:{form.format(logical_id)}"
            stack.attributes[(logical_id, "Arn")] = arn
    found: dict[str, Any] = {}
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or not stack.active(resource):
            continue
        properties = stack.resolve(resource["Properties"])
        found[f"{logical_id}/trust"] = properties["AssumeRolePolicyDocument"]
        for policy in properties.get("Policies", []):
            found[f"{logical_id}/{policy['PolicyName']}"] = policy["PolicyDocument"]
    return found


def test_the_template_holds_both_roles_policies() -> None:
    assert sorted(template_policies()) == [
        "ApiRole/logs",
        "ApiRole/permissions",
        "ApiRole/trust",
        "ExecutionRole/permissions",
        "ExecutionRole/trust",
        "SchedulerRole/permissions",
        "SchedulerRole/trust",
    ]


@pytest.mark.parametrize("name", sorted(template_policies()))
def test_every_template_policy_passes_parliament(name: str) -> None:
    kind = f"*/{name.split('/')[1]}"
    unexplained = [
        (issue, severity)
        for issue, severity, _ in findings(template_policies()[name])
        if (kind, issue) not in EXPLAINED and (name, issue) not in EXPLAINED
    ]
    assert unexplained == []


def test_parliament_would_catch_a_policy_on_the_wrong_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ledger's actions granted on the failure queue: RESOURCE_MISMATCH."""
    original = policies.execution_permissions
    monkeypatch.setattr(
        policies, "execution_permissions", lambda logs, queue, ledger: original(logs, ledger, queue)
    )
    found = findings(template_policies()["ExecutionRole/permissions"])
    assert {issue for issue, _, _ in found} == {"RESOURCE_MISMATCH"}


def test_with_deploy_api_the_api_is_a_second_function_behind_an_iam_url() -> None:
    resources = translate(document(), WITH_API)["Resources"]
    url = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Url")
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": "ApiFunction"}
    assert not [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
