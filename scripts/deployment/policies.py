"""The IAM documents deploy writes (and the template holds): least privilege, each scoped
to this deployment. An ARN is a string for the deployer, an intrinsic for the template."""

from __future__ import annotations

from typing import Any

from scripts.deployment.wanted import Ref

Document = dict[str, Any]


def suffixed(arn: Ref, suffix: str) -> Ref:
    """`arn` + `suffix`, also when the ARN is only known to CloudFormation."""
    if isinstance(arn, str):
        return f"{arn}{suffix}"
    return {"Fn::Join": ["", [arn, suffix]]}


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


def execution_permissions(
    log_group_arn: Ref, failure_queue_arn: Ref, ledger_table_arn: Ref
) -> Document:
    """CloudWatch Logs for its own log group; the on-failure queue; its ledger table."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, suffixed(log_group_arn, ":*")],
            },
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
