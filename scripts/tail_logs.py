"""Print the worker's CloudWatch logs, like `aws logs tail`: --since 10m, --follow.

python scripts/tail_logs.py [--since 10m] [--follow]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler_api.config import describe_errors
from scripts.deploy import one_line
from scripts.deployment.config import DeployConfig

_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
POLL_SECONDS = 2.0


def since_seconds(text: str) -> int:
    match = _SINCE.match(text)
    if not match:
        raise argparse.ArgumentTypeError("use a number and s, m, h or d, e.g. 10m")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def fetch(logs: Any, group: str, start_ms: int, seen: set[str]) -> tuple[list[str], int]:
    """New events since start_ms (ids in `seen` skipped); returns lines and the next start."""
    lines: list[str] = []
    latest = start_ms
    for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=start_ms
    ):
        for event in page.get("events", []):
            if event["eventId"] in seen:
                continue
            seen.add(event["eventId"])
            stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat()
            lines.append(f"{stamp} {event['logStreamName']} {event['message'].rstrip()}")
            latest = max(latest, event["timestamp"])
    return lines, latest


def main(
    argv: list[str] | None = None,
    *,
    session: boto3.session.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", type=since_seconds, default=600, help="e.g. 10m, 2h, 1d")
    parser.add_argument("--follow", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = DeployConfig()
    except ValidationError as exc:
        print(f"logs: bad setting: {describe_errors(exc)}", file=sys.stderr)
        return 2
    group = f"/aws/lambda/{config.function_name}"
    session = session or boto3.session.Session(region_name=config.region)
    logs = session.client("logs", endpoint_url=config.endpoint_url)
    start = int((time.time() - args.since) * 1000)
    seen: set[str] = set()
    try:
        while True:
            lines, start = fetch(logs, group, start, seen)
            for line in lines:
                print(line, flush=True)
            if not args.follow:
                return 0
            sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            print(f"logs: no log group {group} yet: the function has not run", file=sys.stderr)
        else:
            print(f"logs: {one_line(exc, config.region)}", file=sys.stderr)
    except BotoCoreError as exc:
        print(f"logs: {one_line(exc, config.region)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
