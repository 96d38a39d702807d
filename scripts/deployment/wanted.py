"""What a deployment is made of, as plain data: the one source both `make deploy-lambda`
(which compares AWS against it) and `make template` (which writes it as CloudFormation) read,
so the two cannot drift.

An ARN or name that only exists once something is deployed is a parameter (`Ref`): the
deployer passes the string AWS gave it, the template a CloudFormation intrinsic such as
`{"Fn::GetAtt": [...]}`. Nothing here talks to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from scheduler_api.backends.aws.index import keys as index_keys
from scripts.deployment.config import DeployConfig

# An ARN or name: a string (deployer) or a CloudFormation intrinsic function (template).
Ref = str | dict[str, Any]

# 14 days, SQS's maximum: failures are kept, not lost.
QUEUE_ATTRIBUTES: dict[str, str] = {"MessageRetentionPeriod": "1209600"}

# The key the worker's DynamoDBLedgerStore reads and writes.
LEDGER_KEY_SCHEMA: list[Any] = [
    {"AttributeName": "task_id", "KeyType": "HASH"},
    {"AttributeName": "scheduled_time", "KeyType": "RANGE"},
]
LEDGER_ATTRIBUTES: list[Any] = [
    {"AttributeName": "task_id", "AttributeType": "S"},
    {"AttributeName": "scheduled_time", "AttributeType": "S"},
]
LEDGER_TTL_ATTRIBUTE = "expires_at"
BILLING_MODE: Final = "PAY_PER_REQUEST"
FUNCTION_DESCRIPTION = "Runs scheduled tasks (FastAPI + Mangum)"


@dataclass(frozen=True)
class Queue:
    logical_id: str  # the template's name for it
    name: str
    kind: str  # how the deployer's report names it


@dataclass(frozen=True)
class Table:
    logical_id: str
    name: str
    kind: str
    key_schema: list[Any]
    attributes: list[Any]
    global_indexes: list[Any]
    ttl_attribute: str | None

    def layout(self) -> dict[str, Any]:
        """CreateTable's key arguments (the template's table properties use the same names)."""
        layout: dict[str, Any] = {
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attributes,
        }
        if self.global_indexes:
            layout["GlobalSecondaryIndexes"] = self.global_indexes
        return layout


def failure_queue(config: DeployConfig) -> Queue:
    return Queue("FailureQueue", config.failure_queue_name, "sqs queue (on-failure)")


def scheduler_dlq(config: DeployConfig) -> Queue:
    return Queue("SchedulerDeadLetterQueue", config.scheduler_dlq_name, "sqs queue (scheduler DLQ)")


def ledger_table(config: DeployConfig) -> Table:
    return Table(
        "LedgerTable",
        config.ledger_table_name,
        "dynamodb table (ledger)",
        LEDGER_KEY_SCHEMA,
        LEDGER_ATTRIBUTES,
        [],
        LEDGER_TTL_ATTRIBUTE,
    )


def schedule_table(config: DeployConfig) -> Table:
    """The API's index; its layout is the API's own (scheduler_api.backends.aws.index.keys)."""
    return Table(
        "ScheduleTable",
        config.schedule_table_name,
        "dynamodb table (schedule index)",
        index_keys.KEY_SCHEMA,
        index_keys.ATTRIBUTES,
        index_keys.GLOBAL_INDEXES,
        None,
    )


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def function_environment(config: DeployConfig, callback_secret: Ref | None) -> dict[str, Ref]:
    """The worker's environment; the secret is passed in so the template can use a
    parameter for it instead of writing it into a file."""
    variables: dict[str, Ref] = {
        "LOG_LEVEL": config.log_level,
        "LEDGER_TABLE": config.ledger_table_name,
        # A run that never finished is taken over once the function's timeout has passed.
        "LEDGER_IN_PROGRESS_TIMEOUT_SECONDS": str(config.timeout_seconds),
        # The ledger tells RETRYING from DEAD_LETTERED by counting Lambda's tries.
        "LAMBDA_MAX_RETRIES": str(config.max_retries),
        # With a secret, a signed delivery older than both ages together is refused.
        "SCHEDULER_MAX_EVENT_AGE_SECONDS": str(config.scheduler_max_event_age_seconds),
        "LAMBDA_MAX_EVENT_AGE_SECONDS": str(config.max_event_age_seconds),
    }
    if callback_secret is not None:
        variables["SCHEDULER_CALLBACK_SECRET"] = callback_secret
    return variables


def function_configuration(
    config: DeployConfig, role_arn: Ref, callback_secret: Ref | None
) -> dict[str, Any]:
    """UpdateFunctionConfiguration's arguments (the template's use the same names)."""
    return {
        "Runtime": config.runtime,
        "Handler": config.handler,
        "Role": role_arn,
        "MemorySize": config.memory_mb,
        "Timeout": config.timeout_seconds,
        "Environment": {"Variables": function_environment(config, callback_secret)},
    }


def invoke_config(config: DeployConfig, failure_queue_arn: Ref) -> dict[str, Any]:
    """Lambda's async retries and event age, and where an event goes after the last one."""
    return {
        "MaximumRetryAttempts": config.max_retries,
        "MaximumEventAgeInSeconds": config.max_event_age_seconds,
        "DestinationConfig": {"OnFailure": {"Destination": failure_queue_arn}},
    }


def api_settings(
    *,
    region: Ref,
    function_arn: Ref,
    scheduler_role_arn: Ref,
    dlq_arn: Ref,
    ledger_table_name: Ref,
    schedule_table_name: Ref,
    group_name: Ref,
) -> dict[str, Ref]:
    """What the scheduler API's .env needs (the names Settings reads): printed by deploy,
    the template's Outputs."""
    return {
        "SCHEDULER_BACKEND": "aws",
        "AWS_REGION": region,
        "SCHEDULER_LAMBDA_ARN": function_arn,
        "SCHEDULER_TARGET_ROLE_ARN": scheduler_role_arn,
        "SCHEDULER_GROUP_NAME": group_name,
        "SCHEDULER_DLQ_ARN": dlq_arn,
        "LEDGER_TABLE": ledger_table_name,
        "SCHEDULE_TABLE": schedule_table_name,
    }
