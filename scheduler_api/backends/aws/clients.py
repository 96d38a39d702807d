"""boto3 clients, made once per process and shared by every request (they are thread-safe).

Plain arguments, not Settings: the backends do not read configuration; bootstrap.py passes
what Settings holds (AwsAccess)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

# Enough pooled connections for every threadpool worker (FastAPI's default is 40).
MAX_POOL_CONNECTIONS = 64


@dataclass(frozen=True)
class AwsAccess:
    """Where and as whom the clients call AWS, and how often a call is tried."""

    region: str
    max_attempts: int  # botocore's total_max_attempts, the first try included
    endpoint_url: str | None = None  # moto_server or LocalStack; None: AWS itself
    access_key_id: str | None = None  # None: boto3's own credential chain
    secret_access_key: str | None = None


def _session(access: AwsAccess) -> boto3.session.Session:
    return boto3.session.Session(
        region_name=access.region,
        aws_access_key_id=access.access_key_id,
        aws_secret_access_key=access.secret_access_key,
    )


def _config(access: AwsAccess) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": access.max_attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        connect_timeout=5,
        read_timeout=15,
    )


def scheduler_client(access: AwsAccess) -> EventBridgeSchedulerClient:
    return _session(access).client(
        "scheduler", endpoint_url=access.endpoint_url, config=_config(access)
    )


def lambda_client(access: AwsAccess) -> LambdaClient:
    return _session(access).client(
        "lambda", endpoint_url=access.endpoint_url, config=_config(access)
    )


def dynamodb_client(access: AwsAccess) -> DynamoDBClient:
    return _session(access).client(
        "dynamodb", endpoint_url=access.endpoint_url, config=_config(access)
    )
