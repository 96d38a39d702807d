"""boto3 clients, made once per process and shared by every request (they are thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from scheduler_api.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

# Enough pooled connections for every threadpool worker (FastAPI's default is 40).
MAX_POOL_CONNECTIONS = 64


def _session(settings: Settings) -> boto3.session.Session:
    secret = settings.aws_secret_access_key
    return boto3.session.Session(
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )


def _config(settings: Settings) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        connect_timeout=5,
        read_timeout=15,
    )


def scheduler_client(settings: Settings) -> EventBridgeSchedulerClient:
    return _session(settings).client(
        "scheduler", endpoint_url=settings.aws_endpoint_url, config=_config(settings)
    )


def lambda_client(settings: Settings) -> LambdaClient:
    return _session(settings).client(
        "lambda", endpoint_url=settings.aws_endpoint_url, config=_config(settings)
    )


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    return _session(settings).client(
        "dynamodb", endpoint_url=settings.aws_endpoint_url, config=_config(settings)
    )
