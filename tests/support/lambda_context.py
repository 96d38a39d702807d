"""A Lambda context for tests that call a handler by hand, as Lambda's runtime would:
every attribute task_contract.LambdaContext names (mypy checks it where it is passed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeLambdaContext:
    aws_request_id: str = "test-invocation"
    function_name: str = "scheduled-tasks"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:scheduled-tasks"
    memory_limit_in_mb: int = 128
    log_group_name: str = "/aws/lambda/scheduled-tasks"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


LAMBDA_CONTEXT = FakeLambdaContext()  # frozen: one for every test that needs no other
