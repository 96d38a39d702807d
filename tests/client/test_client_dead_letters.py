"""Dead letters through the client: on the local engine a task that fails its only attempt
is listed, redriven (now succeeding) and dismissed; AWS keeps them in the function's
on-failure queue, and the API says so (501, NotSupported)."""

from __future__ import annotations

import uuid

import pytest
from scheduler_client import NotFound, NotSupported, SchedulerClient
from scheduler_client.models import DeadLetterList, RunList

from tests.conftest import API_TOKEN
from tests.support.client_servers import Served, poll


def test_a_dead_letter_is_listed_redriven_and_dismissed(local_served: Served) -> None:
    task_id = f"doomed-{uuid.uuid4().hex[:10]}"
    local_served.fail(task_id)
    with SchedulerClient(local_served.url, token=API_TOKEN) as scheduler:
        arn = scheduler.schedule(
            task_id=task_id, user_id=9, action="cleanup", cron="0 3 * * ? *"
        ).schedule_arn
        scheduler.run_now(arn)

        def mine(letters: DeadLetterList) -> bool:
            return any(letter.task_id == task_id for letter in letters.dead_letters)

        letters = poll(lambda: scheduler.dead_letters(limit=500), mine)
        letter = next(item for item in letters.dead_letters if item.task_id == task_id)
        assert (letter.schedule_arn, letter.redrive_status) == (arn, None)
        assert [attempt.number for attempt in letter.attempts] == [1]
        local_served.fail()  # the next attempt succeeds
        redriven = scheduler.redrive(letter.id)
        assert redriven.dead_letter_id == letter.id

        def settled(runs: RunList) -> bool:
            return any(run.status == "SUCCEEDED" for run in runs.runs)

        poll(lambda: scheduler.runs(task_id), settled)
        assert scheduler.dismiss(letter.id).dismissed is True
        with pytest.raises(NotFound):
            scheduler.dismiss(letter.id)
        assert not mine(scheduler.dead_letters(limit=500))


def test_aws_says_dead_letters_are_not_kept_here(aws_served: Served) -> None:
    with SchedulerClient(aws_served.url, token=API_TOKEN) as scheduler:
        with pytest.raises(NotSupported) as raised:
            scheduler.dead_letters()
        assert raised.value.status == 501
        with pytest.raises(NotSupported):
            scheduler.redrive(1)
