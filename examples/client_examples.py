"""The original guide's three usage examples ("실제 사용 예시"), written with the typed
client instead of calling EventBridge from the service: a payment-expiry reminder in 30
minutes, a welcome email in an hour, a temporary resource's cleanup in 24 hours.

Each task_id is derived from what the task is about, so calling the same function twice
(a retried request, a redelivered message) schedules it once: the API is idempotent by
task_id, and the client retries 503s for that reason (docs/client.md#retries).

Run against a server: `python examples/client_examples.py http://127.0.0.1:8000`
(the token from $SCHEDULER_API_TOKEN; none for a local server without tokens).
"""

from __future__ import annotations

import sys

from scheduler_client import SchedulerClient


def remind_payment_expiry(scheduler: SchedulerClient, payment_id: str, user_id: int) -> str:
    """Example 1: in 30 minutes, tell the user that the payment expires."""
    created = scheduler.schedule(
        task_id=f"payment-reminder-{payment_id}",
        user_id=user_id,
        action="send_notification",
        data={
            "payment_id": payment_id,
            "notification_type": "payment_expiration",
            "expires_at": "2025-10-23T15:30:00Z",
        },
        delay_minutes=30,
    )
    return created.schedule_arn


def send_welcome_email(scheduler: SchedulerClient, user_id: int, user_email: str) -> str:
    """Example 2: in an hour, the welcome email."""
    created = scheduler.schedule(
        task_id=f"welcome-email-{user_id}",
        user_id=user_id,
        action="send_notification",
        data={"email": user_email, "template": "welcome", "language": "ko"},
        delay_minutes=60,
    )
    return created.schedule_arn


def clean_up_resource(scheduler: SchedulerClient, resource_id: str, user_id: int) -> str:
    """Example 3: in 24 hours, delete a temporary file."""
    created = scheduler.schedule(
        task_id=f"cleanup-{resource_id}",
        user_id=user_id,
        action="cleanup",
        data={
            "resource_id": resource_id,
            "resource_type": "temp_file",
            "s3_bucket": "temp-storage",
            "s3_key": f"temp/{resource_id}",
        },
        delay_minutes=24 * 60,
    )
    return created.schedule_arn


def main(base_url: str) -> None:
    with SchedulerClient(base_url) as scheduler:
        for arn in (
            remind_payment_expiry(scheduler, "pay-1001", user_id=456),
            send_welcome_email(scheduler, 456, "user@example.com"),
            clean_up_resource(scheduler, "tmp-77", user_id=456),
        ):
            print(arn)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
