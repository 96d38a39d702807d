"""The README's walkthrough as data: its ```sh steps in order, each with the response the
```json block after it documents, and the rule that compares a response with it.

A documented response may shorten what the server answers:

- `"..."` stands for any value (an id, an ETag);
- an object with the key `"..."` lists only some of the keys; without it, exactly those;
- a list whose last item is `"..."` shows only its first items;
- times are compared as times, not values: every ISO 8601 date-time (alone or inside a
  string, as in `at(...)`) matches any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

ELLIPSIS = "..."
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
STEP_LANGUAGE = "sh"
COMMAND_LANGUAGES = ("bash", "shell", "console")  # make targets only, not run by the test


@dataclass(frozen=True)
class Step:
    number: int
    script: str
    expected: list[Any] | None  # the documented responses, None when nothing is printed


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block, in order."""
    return [(match.group(1), match.group(2)) for match in FENCE.finditer(markdown)]


def steps(markdown: str) -> list[Step]:
    """Each ```sh block, with the ```json block that follows it (before the next step)."""
    found: list[Step] = []
    for language, text in fenced_blocks(markdown):
        if language == STEP_LANGUAGE:
            found.append(Step(len(found) + 1, text, None))
        elif language == "json" and found and found[-1].expected is None:
            last = found[-1]
            found[-1] = Step(last.number, last.script, json_documents(text))
    return found


def json_documents(text: str) -> list[Any]:
    """The JSON documents in text, one after another (curl prints no newline between)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        document, position = decoder.raw_decode(text, position)
        documents.append(document)


def mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where actual differs from the documented expected, as `path: why` lines."""
    if expected == ELLIPSIS:
        return []
    if isinstance(expected, dict):
        return _object_mismatches(expected, actual, where)
    if isinstance(expected, list):
        return _list_mismatches(expected, actual, where)
    if isinstance(expected, str) and isinstance(actual, str):
        same = DATE_TIME.sub("<time>", expected) == DATE_TIME.sub("<time>", actual)
        return [] if same else [f"{where}: {actual!r}, documented {expected!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: {actual!r}, documented {expected!r}"]
    return []


def _object_mismatches(expected: dict[str, Any], actual: Any, where: str) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{where}: {actual!r}, documented an object"]
    shown = {key: value for key, value in expected.items() if key != ELLIPSIS}
    found = [f"{where}.{key}: missing" for key in shown if key not in actual]
    if ELLIPSIS not in expected:
        found += [f"{where}.{key}: not documented" for key in actual if key not in shown]
    for key, value in shown.items():
        if key in actual:
            found += mismatches(value, actual[key], f"{where}.{key}")
    return found


def _list_mismatches(expected: list[Any], actual: Any, where: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{where}: {actual!r}, documented a list"]
    shortened = bool(expected) and expected[-1] == ELLIPSIS
    shown = expected[:-1] if shortened else expected
    if len(actual) < len(shown) or (not shortened and len(actual) != len(shown)):
        return [f"{where}: {len(actual)} items, documented {len(shown)}"]
    found: list[str] = []
    for index, item in enumerate(shown):
        found += mismatches(item, actual[index], f"{where}[{index}]")
    return found
