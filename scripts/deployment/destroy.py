"""Remove what deploy created: schedules in the group and the group, the function, its
roles, queues and tables. The function's CloudWatch log group is kept (it holds the history)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from scripts.deployment.deployer import Deployer, _missing
from scripts.deployment.ledger_table import delete_ledger_table
from scripts.deployment.schedule_table import delete_schedule_table
from scripts.deployment.wanted import schedule_table

GONE_CODES = (
    "ResourceNotFoundException",
    "NoSuchEntity",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
)


def destroy(deployer: Deployer) -> None:
    config = deployer.config
    _delete_schedules_and_group(deployer)
    _delete(deployer, "lambda function", config.function_name, _delete_function)
    for role in (config.scheduler_role_name, config.execution_role_name):
        _delete(deployer, "iam role", role, _delete_role)
    for queue in (config.failure_queue_name, config.scheduler_dlq_name):
        _delete(deployer, "sqs queue", queue, _delete_queue)
    _delete(deployer, "dynamodb table (ledger)", config.ledger_table_name, delete_ledger_table)
    index = schedule_table(config)
    _delete(deployer, index.kind, index.name, delete_schedule_table)


def _delete(deployer: Deployer, kind: str, name: str, action: object) -> None:
    assert callable(action)
    try:
        action(deployer, name)
    except ClientError as exc:
        if not _missing(exc, *GONE_CODES):
            raise
        deployer.report("absent", kind, name)
        return
    deployer.report("deleted", kind, name)


def _delete_function(deployer: Deployer, name: str) -> None:
    deployer.lambda_.delete_function(FunctionName=name)


def _delete_role(deployer: Deployer, name: str) -> None:
    for policy in deployer.iam.list_role_policies(RoleName=name)["PolicyNames"]:
        deployer.iam.delete_role_policy(RoleName=name, PolicyName=policy)
    deployer.iam.delete_role(RoleName=name)


def _delete_queue(deployer: Deployer, name: str) -> None:
    url = deployer.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    deployer.sqs.delete_queue(QueueUrl=url)


def _delete_schedules_and_group(deployer: Deployer) -> None:
    group = deployer.config.group_name
    try:
        deployer.scheduler.get_schedule_group(Name=group)
        paginator = deployer.scheduler.get_paginator("list_schedules")
        names = [
            item["Name"]
            for page in paginator.paginate(GroupName=group)
            for item in page.get("Schedules", [])
        ]
    except ClientError as exc:
        if not _missing(exc, *GONE_CODES):
            raise
        deployer.report("absent", "scheduler schedule group", group)
        return
    for name in names:
        try:
            deployer.scheduler.delete_schedule(GroupName=group, Name=name)
        except ClientError as exc:
            if not _missing(exc, *GONE_CODES):
                raise
    deployer.report("deleted", "scheduler schedules", f"{group} ({len(names)})")
    if group == "default":  # AWS's own group cannot be deleted
        return
    _delete(deployer, "scheduler schedule group", group, _delete_group)


def _delete_group(deployer: Deployer, name: str) -> None:
    deployer.scheduler.delete_schedule_group(Name=name)
