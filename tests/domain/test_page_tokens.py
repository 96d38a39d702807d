"""domain/page_tokens.py: what a backend writes pages on; anything else is refused as a
RequestValidationFailedError naming next_token (the API's 422), never another error."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from scheduler_api.domain.errors import RequestValidationFailedError
from scheduler_api.domain.page_tokens import (
    decode_fields,
    decode_token,
    encode_token,
    token_number,
    token_text,
)


def raw_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_what_a_backend_writes_reads_back() -> None:
    assert decode_token(encode_token(["ü-name"])) == ["ü-name"]
    sort, task_id, name = decode_fields(encode_token([1.5, "t-1", "n"]), 3)
    assert (token_number(sort), token_text(task_id), token_text(name)) == (1.5, "t-1", "n")
    assert token_number(decode_fields(encode_token([3]), 1)[0]) == 3.0


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "\u00e9",  # not ASCII
        raw_token(b"\xed\xa0\x80"),  # not UTF-8
        raw_token(b"[" * 1500),  # past the parser's recursion limit
        raw_token(json.dumps(["\ud800"]).encode()),  # a lone surrogate
        raw_token(b"[NaN]"),
        raw_token(b"[1e400]"),  # infinite
    ],
)
def test_a_token_no_backend_wrote_is_refused(token: str) -> None:
    with pytest.raises(RequestValidationFailedError) as refused:
        decode_token(token)
    assert refused.value.field == "next_token"


@pytest.mark.parametrize(
    ("value", "count"),
    [({"sort": 1}, 1), ([], 1), (["a"], 3), (["a", "b"], 1)],
)
def test_a_token_of_another_shape_is_refused(value: Any, count: int) -> None:
    with pytest.raises(RequestValidationFailedError):
        decode_fields(encode_token(value), count)


@pytest.mark.parametrize("value", [True, False, "1", None])
def test_a_sort_that_is_not_a_number_is_refused(value: Any) -> None:
    with pytest.raises(RequestValidationFailedError):
        token_number(value)


@pytest.mark.parametrize("value", [1, None, ["a"]])
def test_a_name_that_is_not_text_is_refused(value: Any) -> None:
    with pytest.raises(RequestValidationFailedError):
        token_text(value)
