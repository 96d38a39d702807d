"""escape_controls keeps a log record on one line whatever a client sent: every control
character (C0, DEL, C1, the Unicode line and paragraph separators) becomes an escape."""

from __future__ import annotations

import pytest

from scheduler_api.observability.logging import escape_controls


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nforged: line", "a\\r\\nforged: line"),
        ("\x00\x1b[31m", "\\u0000\\u001b[31m"),
        ("\x7f\x85", "\\u007f\\u0085"),
        ("\u2028\u2029", "\\u2028\\u2029"),
    ],
)
def test_control_characters_become_escapes(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def test_printable_text_and_other_unicode_are_left_alone() -> None:
    text = "schedule 'daily-report' — 日本語 😀 \t"
    assert escape_controls(text) == text.replace("\t", "\\t")
