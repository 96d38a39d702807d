"""422 messages are written for a person: no raw regular expression, no pydantic prefix."""

from __future__ import annotations

from typing import Any

from tests.conftest import LocalApp, task_body


def messages(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {"/".join(map(str, error["loc"][1:])): error["msg"] for error in answer.json()["detail"]}


def test_a_pattern_mismatch_says_what_is_allowed_not_the_regex(local_app: LocalApp) -> None:
    body = {**task_body("not a valid id!"), "labels": {"Team Name": "growth"}}
    found = messages(local_app.client.post("/scheduler/schedule", json=body))
    assert found["task_id"] == "use only letters, digits and . _ : -"
    assert found["labels/Team Name/[key]"] == "use 1 to 64 of lowercase letters, digits and _ . -"
    runs = messages(local_app.client.get("/scheduler/tasks/bad id/runs"))
    assert runs["task_id"] == "use only letters, digits and . _ : -"
    for text in [*found.values(), *runs.values()]:
        assert "pattern" not in text
        assert "^" not in text


def test_a_validator_message_has_no_value_error_prefix(local_app: LocalApp) -> None:
    both = task_body("two-timings", delay_minutes=5, cron="0 9 * * ? *")
    found = messages(local_app.client.post("/scheduler/schedule", json=both))
    assert found
    for text in found.values():
        assert not text.startswith("Value error"), text
        assert text[:1].isalpha()
