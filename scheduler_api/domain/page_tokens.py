"""Page tokens (next_token): the one codec every backend of ours pages with.

A token is a JSON list a backend wrote, base64url-encoded: the local list and the AWS
index write [name] or [sort], the local index [sort, task_id, name]. Clients send them
back as they got them, or forge them; whatever comes back, a token that is not a list this
API could have written is a 422 naming next_token, never a 500. (EventBridge's own
NextToken is AWS's, passed through as it is.)"""

from __future__ import annotations

import base64
import json
from typing import Any

from scheduler_api.domain.errors import RequestValidationFailedError
from task_contract import json_problem


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token: str) -> Any:
    """The JSON inside `token`. Refused: text that is not base64 (or not ASCII), bytes that
    are not UTF-8 JSON, JSON nested past the parser's recursion limit (a forged token of
    brackets), and JSON holding what no token of ours holds (a lone surrogate, NaN)."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, RecursionError) as exc:  # UnicodeError and binascii.Error included
        raise invalid_token() from exc
    if json_problem(decoded) is not None:
        raise invalid_token()
    return decoded


def decode_fields(token: str, count: int) -> list[Any]:
    """The `count` values of a token written as a list of them; refused otherwise. Check
    each with token_text or token_number."""
    decoded = decode_token(token)
    if not (isinstance(decoded, list) and len(decoded) == count):
        raise invalid_token()
    return decoded


def token_text(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_token()
    return value


def token_number(value: Any) -> float:
    """A number as JSON holds it (true and false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_token()
    return float(value)


def invalid_token() -> RequestValidationFailedError:
    return RequestValidationFailedError("next_token", "invalid next_token", "query")
