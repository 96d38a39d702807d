"""422 messages a person can read: pydantic's, without its "Value error," prefix and
without the raw regular expression of a pattern that did not match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from task_contract import LABEL_KEY_PATTERN

_PREFIXES = ("Value error, ", "Assertion failed, ")
# What each pattern the API checks allows, in words (the regex is in the OpenAPI schema).
_PATTERN_WORDS = {
    r"^[A-Za-z0-9._:-]+$": "use only letters, digits and . _ : -",
    r"^[A-Za-z0-9._:-]{1,128}$": "use 1 to 128 letters, digits and . _ : -",
    LABEL_KEY_PATTERN: "use 1 to 64 of lowercase letters, digits and _ . -",
}
_ANY_PATTERN = "contains characters that are not allowed here"


def readable_message(error: Mapping[str, Any]) -> str:
    """One pydantic error's message, as the 422 body shows it."""
    if error.get("type") == "string_pattern_mismatch":
        context = error.get("ctx") or {}
        return _PATTERN_WORDS.get(str(context.get("pattern", "")), _ANY_PATTERN)
    message = str(error.get("msg", ""))
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    return message
