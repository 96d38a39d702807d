"""The template's parameters refuse what the API would refuse, before CloudFormation creates
anything: ApiToken follows SCHEDULER_API_TOKENS's own rule (scheduler_api/config.py), checked
by evaluating the template's AllowedPattern and Rules as CloudFormation does
(tests/support/cloudformation.py), and the pattern is one cfn-lint accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scheduler_api.config import Settings
from scripts.deployment import template
from scripts.deployment.config import DeployConfig
from tests.support.cloudformation import Stack, translate

PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "CodeBucket": "code-bucket",
}
GOOD = "an-api-token-0123456789"


def refusals(**parameters: str) -> list[str]:
    values = {**PARAMETERS, **parameters}
    document = translate(template.build(DeployConfig(_env_file=None)), values)
    return Stack(document, values).refusals()


def api_accepts(tokens: str) -> bool:
    try:
        Settings(_env_file=None, SCHEDULER_API_TOKENS=tokens)
    except ValidationError:
        return False
    return True


def test_the_defaults_are_accepted() -> None:
    assert refusals() == []


def test_a_short_api_token_is_refused() -> None:
    assert refusals(DeployApi="true", ApiToken="short-token") == [
        "ApiToken: tokens separated by commas, each 16 characters or more"
    ]


def test_deploy_api_without_a_token_is_refused_by_the_rule() -> None:
    assert refusals(DeployApi="true") == [
        "ApiNeedsAToken: DeployApi=true needs ApiToken (16 characters or more)"
    ]


@pytest.mark.parametrize(
    "tokens",
    [
        GOOD,
        f"{GOOD},{GOOD}-2",
        f" {GOOD} , {GOOD}-2 ",
        "0123456789abcdef",  # 16: the shortest the API takes
        "0123456789abcde",  # 15
        f"{GOOD},short",
        " 0123456789abcde ",  # 15 once stripped
        "a b c d e f g h i",
        ",",
        " ",
    ],
)
def test_the_pattern_accepts_what_the_api_accepts(tokens: str) -> None:
    accepted = refusals(DeployApi="true", ApiToken=tokens) == []
    assert accepted == api_accepts(tokens)
