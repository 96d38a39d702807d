"""Run a sample scheduled event through the worker's Lambda handler and print the response.

    python scripts/invoke_local.py [--action send_notification] [--task-id sample-1]
                                   [--user-id 1] [--data '{"channel": "sms"}']

The event is built exactly as the scheduler API builds a schedule's Input, with the
context attributes EventBridge would substitute, then handed in this process to the
handler the local engine would call: LOCAL_LAMBDA_HANDLER (from the environment or
`.env`; default lambda_worker.handler.lambda_handler), so a user's own actions run.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler_api.backends.local.engine.invoker import LocalLambdaContext
from scheduler_api.bootstrap import load_handler
from scheduler_api.config import ConfigurationError, load_settings
from task_contract import TaskFailedError, build_proxy_event, substitute_context_attributes

CALLBACK_PATH = "/api/v1/tasks/callback"


def sample_event(
    task_id: str = "sample-1",
    user_id: int = 1,
    action: str = "send_notification",
    data: dict[str, object] | None = None,
    *,
    scheduled_time: str | None = None,
    execution_id: str | None = None,
) -> str:
    """The text Lambda receives when a schedule fires: the scheduler API's Input, after
    EventBridge's substitution of the context attributes."""
    body = {"task_id": task_id, "user_id": user_id, "action": action, "data": data or {}}
    return substitute_context_attributes(
        json.dumps(build_proxy_event(CALLBACK_PATH, "POST", body)),
        schedule_arn=f"arn:aws:scheduler:local:000000000000:schedule/default/{task_id}",
        scheduled_time=scheduled_time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        execution_id=execution_id or uuid.uuid4().hex,
        attempt=1,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--action", default="send_notification")
    parser.add_argument("--task-id", default="sample-1")
    parser.add_argument("--user-id", type=int, default=1)
    parser.add_argument("--data", type=json.loads, default={}, help="JSON object")
    args = parser.parse_args(argv)
    try:
        handler = load_handler(load_settings().local_lambda_handler)
    except ConfigurationError as exc:
        print(f"invoke-local: {exc}", file=sys.stderr)
        return 2
    event = json.loads(sample_event(args.task_id, args.user_id, args.action, args.data))
    context = LocalLambdaContext("arn:aws:lambda:local:000000000000:function:local-worker")
    try:
        response = handler(event, context)
    except TaskFailedError as exc:
        print(f"invocation failed (Lambda would retry): {exc}", file=sys.stderr)
        return 1
    print(json.dumps(response, indent=2))
    return 0 if int(response["statusCode"]) < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
