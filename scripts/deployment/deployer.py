"""Deployer: create what is missing, update what changed, leave the rest alone.

Each `ensure_*` reads the resource, compares it with what it should be, and reports one
line: created, updated or unchanged (with --dry-run: would create, would update).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from scripts.deployment.config import DeployConfig
from scripts.deployment.wanted import QUEUE_ATTRIBUTES, Queue

if TYPE_CHECKING:
    import boto3

Sleep = Callable[[float], None]
ROLE_PROPAGATION_TRIES = 8
FUNCTION_WAIT_TRIES = 60


class DeployError(Exception):
    """A deployment that cannot go on; the message is the one line the user sees."""


@dataclass
class Report:
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    print_line: Callable[[str], None] = print

    def __call__(self, status: str, kind: str, name: str) -> None:
        self.lines.append((status, kind, name))
        self.print_line(f"{status:<14} {kind:<28} {name}")


def _missing(exc: ClientError, *codes: str) -> bool:
    return exc.response.get("Error", {}).get("Code") in codes


def _same_document(current: Any, wanted: dict[str, Any]) -> bool:
    if isinstance(current, str):
        current = json.loads(current)
    return json.dumps(current, sort_keys=True) == json.dumps(wanted, sort_keys=True)


class Deployer:
    def __init__(
        self,
        session: boto3.session.Session,
        config: DeployConfig,
        *,
        dry_run: bool = False,
        sleep: Sleep,
        report: Report | None = None,
    ) -> None:
        endpoint = config.endpoint_url
        self.iam = session.client("iam", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.lambda_ = session.client("lambda", endpoint_url=endpoint)
        self.scheduler = session.client("scheduler", endpoint_url=endpoint)
        self.sts = session.client("sts", endpoint_url=endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.config = config
        self.dry_run = dry_run
        self.sleep = sleep
        self.report = report or Report()

    def created(self, kind: str, name: str) -> None:
        self.report("would create" if self.dry_run else "created", kind, name)

    def updated(self, kind: str, name: str) -> None:
        self.report("would update" if self.dry_run else "updated", kind, name)

    def account_id(self) -> str:
        return self.sts.get_caller_identity()["Account"]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.config.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account_id()}:{resource}"

    def ensure_queue(self, queue: Queue) -> str:
        name, kind = queue.name, queue.kind
        try:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if not _missing(exc, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise
            url = None
        wanted: Any = QUEUE_ATTRIBUTES
        if url is None:
            self.created(kind, name)
            if self.dry_run:
                return self.arn("sqs", name)
            url = self.sqs.create_queue(QueueName=name, Attributes=wanted)["QueueUrl"]
        else:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            current: dict[str, str] = {str(k): v for k, v in attributes["Attributes"].items()}
            if any(current.get(key) != value for key, value in QUEUE_ATTRIBUTES.items()):
                self.updated(kind, name)
                if not self.dry_run:
                    self.sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)
            else:
                self.report("unchanged", kind, name)
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def ensure_role(
        self, name: str, kind: str, trust: dict[str, Any], permissions: dict[str, Any]
    ) -> tuple[str, bool]:
        """The role's ARN, and whether it was just created (IAM needs time to propagate)."""
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if not _missing(exc, "NoSuchEntity"):
                raise
            self.created(kind, name)
            if self.dry_run:
                return self.arn("iam", f"role/{name}", regional=False), True
            role = self.iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"{self.config.function_name}: created by make deploy-lambda",
            )["Role"]
            self.iam.put_role_policy(
                RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(permissions)
            )
            return role["Arn"], True
        changed = not _same_document(role["AssumeRolePolicyDocument"], trust)
        try:
            current = self.iam.get_role_policy(RoleName=name, PolicyName="permissions")
            changed |= not _same_document(current["PolicyDocument"], permissions)
        except ClientError as exc:
            if not _missing(exc, "NoSuchEntity"):
                raise
            changed = True
        if changed:
            self.updated(kind, name)
        else:
            self.report("unchanged", kind, name)
        if changed and not self.dry_run:
            self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            self.iam.put_role_policy(
                RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(permissions)
            )
        return role["Arn"], False

    def ensure_group(self) -> None:
        name = self.config.group_name
        try:
            self.scheduler.get_schedule_group(Name=name)
            self.report("unchanged", "scheduler schedule group", name)
        except ClientError as exc:
            if not _missing(exc, "ResourceNotFoundException"):
                raise
            self.created("scheduler schedule group", name)
            if not self.dry_run:
                self.scheduler.create_schedule_group(Name=name)
