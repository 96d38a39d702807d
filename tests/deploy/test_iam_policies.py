"""Every IAM policy the project writes or documents, checked by parliament (the IAM linter,
offline) rather than by eye: a finding above LOW fails unless it is explained below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import parliament
import pytest
from parliament import analyze_policy_string, enhance_finding, override_config

from scripts.deployment import policies
from tests.support.processes import ROOT

ACCOUNT, REGION, FUNCTION = "123456789012", "us-east-1", "FastAPI_Scheduled_Tasks"
PUBLISHED = {
    "deployer": ROOT / "iam" / "deployer-policy.json",
    "scheduler-api": ROOT / "iam" / "scheduler-api-policy.json",
}

# Findings that are the point of the policy, each with why it is acceptable.
EXPLAINED: dict[tuple[str, str, str], str] = {
    # Trust policies are resource-based: they name a Principal and never a Resource, which
    # parliament (it reads identity policies) calls malformed.
    ("lambda-trust", "MALFORMED", ""): "a trust policy has no Resource",
    ("scheduler-trust", "MALFORMED", ""): "a trust policy has no Resource",
    # The deployer's job is to create the function's two roles and write their inline
    # policies (iam:PutRolePolicy, iam:UpdateAssumeRolePolicy): permissions management by
    # nature. Scoped to roles named FastAPI_Scheduled_Tasks-*; iam:PassRole only passes the
    # execution role, and only to Lambda.
    ("deployer", "PERMISSIONS_MANAGEMENT_ACTIONS", ""): "it creates and scopes the two roles",
    # lambda:UpdateFunctionCode on a function that has a role: deploying the code of the
    # one function it created is what a deploy is.
    ("deployer", "PRIVILEGE_ESCALATION", "EditExistingLambdaFunctionWithRole"): "it deploys",
    # CreateSchedule hands EventBridge the role it invokes the worker with: iam:PassRole on
    # that one role, to scheduler.amazonaws.com only.
    ("scheduler-api", "PERMISSIONS_MANAGEMENT_ACTIONS", ""): "it passes the scheduler role",
}
SEVERITY_ORDER = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def filled(text: str) -> Any:
    return json.loads(text.replace("ACCOUNT", ACCOUNT).replace("REGION", REGION))


def written_policies() -> dict[str, Any]:
    """What deploy writes: both roles' trust and inline policies."""
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    return {
        "lambda-trust": policies.lambda_trust(),
        "scheduler-trust": policies.scheduler_trust(ACCOUNT),
        "execution-role": policies.execution_permissions(
            arn.format("logs", f"log-group:/aws/lambda/{FUNCTION}"),
            arn.format("sqs", f"{FUNCTION}-failures"),
            arn.format("dynamodb", f"table/{FUNCTION}-ledger"),
        ),
        "scheduler-role": policies.scheduler_permissions(
            arn.format("lambda", f"function:{FUNCTION}"),
            arn.format("sqs", f"{FUNCTION}-scheduler-dlq"),
        ),
    }


def all_policies() -> dict[str, Any]:
    published = {name: filled(path.read_text()) for name, path in PUBLISHED.items()}
    return {**published, **written_policies()}


def findings(document: Any) -> list[tuple[str, str, str]]:
    """(issue, severity, what it is about) for each finding above LOW."""
    community = Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"
    override_config(str(community))
    result = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    found = []
    for finding in map(enhance_finding, result.findings):
        if SEVERITY_ORDER.index(finding.severity) <= SEVERITY_ORDER.index("LOW"):
            continue
        location = finding.location if isinstance(finding.location, dict) else {}
        found.append((finding.issue, finding.severity, str(location.get("type", ""))))
    return found


@pytest.mark.parametrize("name", sorted(all_policies()))
def test_every_policy_passes_parliament_or_is_explained(name: str) -> None:
    unexplained = [
        (issue, severity, about)
        for issue, severity, about in findings(all_policies()[name])
        if (name, issue, about) not in EXPLAINED
    ]
    assert unexplained == []


def test_the_linter_catches_what_it_is_here_for() -> None:
    """The mistake this test was written for: ListSchedules scoped to the group's ARN."""
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "scheduler:ListSchedules",
                "Resource": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/scheduled-tasks/*",
            }
        ],
    }
    assert [issue for issue, _, _ in findings(scoped)] == ["RESOURCE_MISMATCH"]


def test_the_deploy_doc_links_the_published_policies() -> None:
    """The policies are shown by linking the files, never by a copy that could drift."""
    doc = (ROOT / "docs" / "deploy.md").read_text()
    for path in PUBLISHED.values():
        assert f"(../iam/{path.name})" in doc
    assert '"Statement"' not in doc


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_pass_role_is_only_to_one_service(name: str) -> None:
    document = filled(PUBLISHED[name].read_text())
    passing = [s for s in document["Statement"] if "iam:PassRole" in json.dumps(s["Action"])]
    assert passing
    for statement in passing:
        assert set(statement["Condition"]["StringEquals"]) == {"iam:PassedToService"}


def test_every_explanation_is_still_needed() -> None:
    """An explanation nothing needs any more would excuse the next finding of its kind."""
    found = {
        (name, issue, about)
        for name, document in all_policies().items()
        for issue, _, about in findings(document)
    }
    assert set(EXPLAINED) <= found
