"""The CloudFormation (SAM) template of what `make deploy-lambda` creates, built from the same
definitions the deployer reads (wanted.py, policies.py), so the two cannot drift.

Settings are taken from the environment and .env when the template is written, as deploy
takes them; only what must not be written into a file (the callback secret) or is only known
at deploy time (where the zip is in S3) is a parameter.
"""

from __future__ import annotations

from typing import Any

from scripts.deployment import policies, template_api, wanted
from scripts.deployment.config import DeployConfig

TRANSFORM = "AWS::Serverless-2016-10-31"
FUNCTION = "WorkerFunction"
EXECUTION_ROLE = "ExecutionRole"
SCHEDULER_ROLE = "SchedulerRole"
GROUP = "ScheduleGroup"
SIGNED = "HasCallbackSecret"  # the condition: a callback secret was given
NO_VALUE = {"Ref": "AWS::NoValue"}

Resource = dict[str, Any]


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def output_id(setting: str) -> str:
    """SCHEDULER_LAMBDA_ARN -> SchedulerLambdaArn (an output's name is alphanumeric)."""
    return "".join(part.capitalize() for part in setting.split("_"))


def queue(queue: wanted.Queue) -> Resource:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": queue.name, **wanted.QUEUE_ATTRIBUTES},
    }


def table(table: wanted.Table) -> Resource:
    properties: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": wanted.BILLING_MODE,
        **table.layout(),
    }
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": table.ttl_attribute,
            "Enabled": True,
        }
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


def role(name: str, trust: policies.Document, permissions: policies.Document) -> Resource:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": name,
            "Description": f"{name}: created by the stack (make template)",
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": "permissions", "PolicyDocument": permissions}],
        },
    }


def callback_secret() -> dict[str, Any]:
    """The parameter when given, else no variable at all (deploy sets none then either)."""
    return {"Fn::If": [SIGNED, ref("CallbackSecret"), NO_VALUE]}


def worker_function(config: DeployConfig, failure_queue_arn: wanted.Ref) -> Resource:
    secret = callback_secret()
    invoke = wanted.invoke_config(config, failure_queue_arn)
    invoke["DestinationConfig"]["OnFailure"]["Type"] = "SQS"  # SAM needs the kind named
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": config.function_name,
            "Description": wanted.FUNCTION_DESCRIPTION,
            "CodeUri": {"Bucket": ref("CodeBucket"), "Key": ref("CodeKey")},
            "Architectures": [config.arch],
            **wanted.function_configuration(config, arn_of(EXECUTION_ROLE), secret),
            "EventInvokeConfig": invoke,
        },
    }


def parameters() -> dict[str, Any]:
    return {
        "CodeBucket": {
            "Type": "String",
            "MinLength": 3,
            "Description": "S3 bucket holding the worker's zip (make package-lambda builds it)",
        },
        "CodeKey": {
            "Type": "String",
            "Default": "lambda_worker.zip",
            "Description": "S3 key of the worker's zip in CodeBucket",
        },
        "CallbackSecret": {
            "Type": "String",
            "NoEcho": True,
            "Default": "",
            "Description": "SCHEDULER_CALLBACK_SECRET for the worker (empty: deliveries unsigned)",
        },
    }


def resources(config: DeployConfig) -> dict[str, Resource]:
    failures, dlq = wanted.failure_queue(config), wanted.scheduler_dlq(config)
    ledger, index = wanted.ledger_table(config), wanted.schedule_table(config)
    log_group = policies.stack_arn(
        "logs", f"log-group:{wanted.log_group_name(config.function_name)}"
    )
    execution = policies.execution_permissions(
        log_group, arn_of(failures.logical_id), arn_of(ledger.logical_id)
    )
    scheduler = policies.scheduler_permissions(arn_of(FUNCTION), arn_of(dlq.logical_id))
    return {
        failures.logical_id: queue(failures),
        dlq.logical_id: queue(dlq),
        ledger.logical_id: table(ledger),
        index.logical_id: table(index),
        EXECUTION_ROLE: role(config.execution_role_name, policies.lambda_trust(), execution),
        FUNCTION: worker_function(config, arn_of(failures.logical_id)),
        GROUP: {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": config.group_name}},
        SCHEDULER_ROLE: role(
            config.scheduler_role_name,
            policies.scheduler_trust(ref("AWS::AccountId")),
            scheduler,
        ),
    }


def settings(config: DeployConfig) -> dict[str, wanted.Ref]:
    """The scheduler API's settings, as references to the stack's resources."""
    return wanted.api_settings(
        region=ref("AWS::Region"),
        function_arn=arn_of(FUNCTION),
        scheduler_role_arn=arn_of(SCHEDULER_ROLE),
        dlq_arn=arn_of(wanted.scheduler_dlq(config).logical_id),
        ledger_table_name=ref(wanted.ledger_table(config).logical_id),
        schedule_table_name=ref(wanted.schedule_table(config).logical_id),
        group_name=ref(GROUP),
    )


def outputs(config: DeployConfig) -> dict[str, Any]:
    """The scheduler API's settings, named as .env names them (each output's Description)."""
    found = {
        output_id(name): {"Description": name, "Value": value}
        for name, value in settings(config).items()
    }
    return {**found, **template_api.outputs()}


def build(config: DeployConfig) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": TRANSFORM,
        "Description": (
            f"{config.function_name}: the scheduled-task worker and what it needs, as "
            "make deploy-lambda creates them (written by make template)"
        ),
        "Parameters": {**parameters(), **template_api.parameters()},
        "Rules": template_api.rules(),
        "Conditions": {
            SIGNED: {"Fn::Not": [{"Fn::Equals": [ref("CallbackSecret"), ""]}]},
            **template_api.conditions(),
        },
        "Resources": {
            **resources(config),
            **template_api.resources(config, settings(config), callback_secret()),
        },
        "Outputs": outputs(config),
    }
