"""The IAM documents deploy writes (and the template holds): least privilege, each scoped
to this deployment. An ARN is a string for the deployer, an intrinsic for the template."""

from __future__ import annotations

from typing import Any

from scheduler_api.backends.aws.index.keys import VIEW_INDEX
from scripts.deployment.wanted import Ref

Document = dict[str, Any]


def suffixed(arn: Ref, suffix: str) -> Ref:
    """`arn` + `suffix`, also when the ARN is only known to CloudFormation."""
    if isinstance(arn, str):
        return f"{arn}{suffix}"
    return {"Fn::Join": ["", [arn, suffix]]}


def stack_arn(service: str, resource: str) -> Ref:
    """For the template: an ARN in the stack's own partition, region and account."""
    where = "${AWS::Region}:${AWS::AccountId}"  # left for Fn::Sub, not Python, to fill in
    return {"Fn::Sub": "arn:${AWS::Partition}:" + f"{service}:{where}:{resource}"}


def lambda_trust() -> Document:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def scheduler_trust(account_id: Ref) -> Document:
    """Only EventBridge Scheduler acting for this account may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def own_logs(log_group_arn: Ref) -> dict[str, Any]:
    """CloudWatch Logs for one function's own log group."""
    return {
        "Sid": "OwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, suffixed(log_group_arn, ":*")],
    }


def execution_permissions(
    log_group_arn: Ref, failure_queue_arn: Ref, ledger_table_arn: Ref
) -> Document:
    """CloudWatch Logs for its own log group; the on-failure queue; its ledger table."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            own_logs(log_group_arn),
            {
                "Sid": "OnFailureDestination",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": failure_queue_arn,
            },
            {
                "Sid": "TaskLedger",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                "Resource": ledger_table_arn,
            },
        ],
    }


def scheduler_permissions(function_arn: Ref, dlq_arn: Ref) -> Document:
    """Invoke this function only; dead-letter to this queue only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeWorker",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [function_arn, suffixed(function_arn, ":*")],
            },
            {
                "Sid": "DeadLetter",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": dlq_arn,
            },
        ],
    }


def scheduler_api_permissions(
    group_schedules_arn: Ref,
    scheduler_role_arn: Ref,
    function_arn: Ref,
    schedule_table_arn: Ref,
    ledger_table_arn: Ref,
) -> Document:
    """What the scheduler API needs in AWS mode (iam/scheduler-api-policy.json is this, with
    ACCOUNT and REGION for a reader to fill in; a test keeps the two equal)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnSchedules",
                "Effect": "Allow",
                "Action": [
                    "scheduler:CreateSchedule",
                    "scheduler:GetSchedule",
                    "scheduler:UpdateSchedule",
                    "scheduler:DeleteSchedule",
                ],
                "Resource": group_schedules_arn,
            },
            {
                "Sid": "ListSchedulesTakesOnlyAStar",
                "Effect": "Allow",
                "Action": "scheduler:ListSchedules",
                "Resource": "*",
            },
            {
                "Sid": "PassTheSchedulerRoleToSchedulerOnly",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": scheduler_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            },
            {
                "Sid": "RunNow",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": function_arn,
            },
            {
                "Sid": "ScheduleIndex",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",  # a filtered page's anchors (index/query.py)
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                ],
                "Resource": [
                    schedule_table_arn,
                    suffixed(schedule_table_arn, f"/index/{VIEW_INDEX}"),
                ],
            },
            {
                "Sid": "RunsFromTheLedger",
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": ledger_table_arn,
            },
            {
                "Sid": "OnlyWithSchedulerLambdaFunctionName",
                "Effect": "Allow",
                "Action": "lambda:GetFunction",
                "Resource": function_arn,
            },
        ],
    }
