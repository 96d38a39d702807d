"""AsyncSchedulerClient against the real API on both backends: the same Calls as the sync
client, sent over httpx.AsyncClient, the find iterator an async one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from scheduler_client import (
    AsyncSchedulerClient,
    NotFound,
    NotSupported,
    PreconditionFailed,
    ScheduleConflict,
    ValidationFailed,
)

from tests.conftest import API_TOKEN
from tests.support.client_servers import Served


def test_every_method_over_the_async_client(served: Served) -> None:
    suite = uuid.uuid4().hex[:12]

    async def main() -> None:
        async with AsyncSchedulerClient(served.url, token=API_TOKEN) as scheduler:
            created = [
                await scheduler.schedule(
                    task_id=f"async-{suite}-{n}",
                    user_id=5,
                    action="send_notification",
                    rate=f"{n + 1} hours",
                    labels={"suite": suite},
                )
                for n in range(3)
            ]
            arn = created[0].schedule_arn
            assert (await scheduler.get(arn)).etag == created[0].etag
            changed = await scheduler.update(arn, if_match=created[0].etag, rate="7 hours")
            assert changed.schedule_expression == "rate(7 hours)"
            with pytest.raises(PreconditionFailed):
                await scheduler.update(arn, if_match=created[0].etag, rate="8 hours")
            assert (await scheduler.pause(arn)).state == "DISABLED"
            assert (await scheduler.resume(arn)).state == "ENABLED"
            started = await scheduler.run_now(arn)
            assert started.schedule_arn == arn
            assert (await scheduler.runs(f"async-{suite}-0")).task_id == f"async-{suite}-0"
            assert f"async-{suite}-1" in (await scheduler.last_runs([f"async-{suite}-1"])).last_runs
            page = await scheduler.find_page(limit=2, labels={"suite": suite})
            assert page.next_token is not None
            found = [
                item.task_id async for item in scheduler.find(page_size=2, labels={"suite": suite})
            ]
            assert sorted(str(task_id) for task_id in found) == [
                f"async-{suite}-{n}" for n in range(3)
            ]
            dry = await scheduler.bulk("pause", dry_run=True, labels={"suite": suite})
            assert (dry.matched, dry.changed) == (3, 0)
            preview = await scheduler.preview("rate(1 hour)", count=3)
            assert len(preview.next_run_times) == 3
            assert (await scheduler.overview()).schedules is not None
            with pytest.raises(ScheduleConflict) as raised:
                await scheduler.schedule(
                    task_id=f"async-{suite}-1", user_id=5, action="cleanup", rate="1 hours"
                )
            assert raised.value.existing_schedule_arn == created[1].schedule_arn
            with pytest.raises(ValidationFailed):
                await scheduler.schedule(task_id="x", user_id=5, action="cleanup")
            if served.local:
                assert isinstance((await scheduler.dead_letters()).dead_letters, list)
                with pytest.raises(NotFound):
                    await scheduler.redrive(2**62)
                with pytest.raises(NotFound):
                    await scheduler.dismiss(2**62)
            else:
                with pytest.raises(NotSupported):
                    await scheduler.dead_letters()
            deleted = await scheduler.bulk("delete", labels={"suite": suite})
            assert deleted.changed == 3
            with pytest.raises(NotFound):
                await scheduler.cancel(arn)

    asyncio.run(main())


def test_cancel_over_the_async_client(served: Served) -> None:
    async def main() -> None:
        async with AsyncSchedulerClient(served.url, token=API_TOKEN) as scheduler:
            task_id = f"async-cancel-{uuid.uuid4().hex[:10]}"
            created = await scheduler.schedule(
                task_id=task_id, user_id=5, action="cleanup", delay_minutes=60
            )
            assert (await scheduler.cancel(created.schedule_arn)).success is True
            with pytest.raises(NotFound):
                await scheduler.get(created.schedule_arn)

    asyncio.run(main())
