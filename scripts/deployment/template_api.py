"""The template's optional part (parameter DeployApi, off by default): the scheduler API
itself as a second function (Mangum, scheduler_api.lambda_handler) behind a function URL with
AuthType AWS_IAM, with its own role holding exactly the scheduler API's policy.

Its environment is the same settings the template's Outputs give (wanted.api_settings), less
AWS_REGION, which Lambda sets itself and refuses as a variable.
"""

from __future__ import annotations

from typing import Any

from scheduler_api.config import MIN_TOKEN_LENGTH
from scripts.deployment import policies, wanted
from scripts.deployment.config import DeployConfig

WITH_API = "WithApi"  # the condition
FUNCTION = "ApiFunction"
ROLE = "ApiRole"
HANDLER = "scheduler_api.lambda_handler.handler"
TIMEOUT_SECONDS = 30
RESERVED = ("AWS_REGION",)  # Lambda's own variables

# SCHEDULER_API_TOKENS as the API's Settings accept it (scheduler_api/config.py): tokens
# separated by commas, each at least MIN_TOKEN_LENGTH characters once stripped; or empty, the
# default, which the rule below refuses with DeployApi=true. Stricter than the API in one
# way: an empty item between two commas is refused too.
_TOKEN = rf"\s*[^,\s][^,]{{{MIN_TOKEN_LENGTH - 2},}}[^,\s]\s*"
TOKENS_PATTERN = rf"^$|^{_TOKEN}(,{_TOKEN})*$"


def parameters() -> dict[str, Any]:
    return {
        "DeployApi": {
            "Type": "String",
            "AllowedValues": ["false", "true"],
            "Default": "false",
            "Description": "true: the scheduler API too, as a function behind an IAM-auth URL",
        },
        "ApiCodeKey": {
            "Type": "String",
            "Default": "scheduler_api.zip",
            "Description": "S3 key in CodeBucket of the API's zip (make package-api builds it)",
        },
        "ApiToken": {
            "Type": "String",
            "NoEcho": True,
            "Default": "",
            "AllowedPattern": TOKENS_PATTERN,
            "ConstraintDescription": (
                f"tokens separated by commas, each {MIN_TOKEN_LENGTH} characters or more"
            ),
            "Description": "SCHEDULER_API_TOKENS for the API function (required with DeployApi)",
        },
    }


def conditions() -> dict[str, Any]:
    return {WITH_API: {"Fn::Equals": [{"Ref": "DeployApi"}, "true"]}}


def rules() -> dict[str, Any]:
    """CloudFormation refuses DeployApi=true without a token before it creates anything."""
    return {
        "ApiNeedsAToken": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "DeployApi"}, "true"]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiToken"}, ""]}]},
                    "AssertDescription": (
                        f"DeployApi=true needs ApiToken ({MIN_TOKEN_LENGTH} characters or more)"
                    ),
                }
            ],
        }
    }


def resources(
    config: DeployConfig, settings: dict[str, wanted.Ref], secret: wanted.Ref
) -> dict[str, Any]:
    """The API's role and function; `settings` are the template's Outputs' values."""
    log_group = policies.stack_arn(
        "logs", f"log-group:{wanted.log_group_name(config.api_function_name)}"
    )
    schedules = policies.stack_arn("scheduler", f"schedule/{config.group_name}/*")
    permissions = policies.scheduler_api_permissions(
        schedules,
        settings["SCHEDULER_TARGET_ROLE_ARN"],
        settings["SCHEDULER_LAMBDA_ARN"],
        {"Fn::GetAtt": [wanted.schedule_table(config).logical_id, "Arn"]},
        {"Fn::GetAtt": [wanted.ledger_table(config).logical_id, "Arn"]},
    )
    logs = {"Version": "2012-10-17", "Statement": [policies.own_logs(log_group)]}
    environment = {k: v for k, v in settings.items() if k not in RESERVED}
    environment.update(
        {
            "LOG_LEVEL": config.log_level,
            "SCHEDULER_API_TOKENS": {"Ref": "ApiToken"},
            "SCHEDULER_CALLBACK_SECRET": secret,
        }
    )
    return {
        ROLE: {
            "Type": "AWS::IAM::Role",
            "Condition": WITH_API,
            "Properties": {
                "RoleName": config.api_role_name,
                "Description": f"{config.api_role_name}: the scheduler API (make template)",
                "AssumeRolePolicyDocument": policies.lambda_trust(),
                "Policies": [
                    {"PolicyName": "permissions", "PolicyDocument": permissions},
                    {"PolicyName": "logs", "PolicyDocument": logs},
                ],
            },
        },
        FUNCTION: {
            "Type": "AWS::Serverless::Function",
            "Condition": WITH_API,
            "Properties": {
                "FunctionName": config.api_function_name,
                "Description": "The scheduler API (FastAPI + Mangum)",
                "CodeUri": {"Bucket": {"Ref": "CodeBucket"}, "Key": {"Ref": "ApiCodeKey"}},
                "Architectures": [config.arch],
                "Runtime": config.runtime,
                "Handler": HANDLER,
                "Role": {"Fn::GetAtt": [ROLE, "Arn"]},
                "MemorySize": config.memory_mb,
                "Timeout": TIMEOUT_SECONDS,
                "Environment": {"Variables": environment},
                "FunctionUrlConfig": {"AuthType": "AWS_IAM"},
            },
        },
    }


def outputs() -> dict[str, Any]:
    return {
        "ApiUrl": {
            "Condition": WITH_API,
            "Description": "the API's function URL (requests signed with SigV4, service lambda)",
            "Value": {"Fn::GetAtt": [f"{FUNCTION}Url", "FunctionUrl"]},
        }
    }
