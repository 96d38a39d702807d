"""docs/guarantees.md names the test behind each promise: every name it gives is a test
that exists, so a rename or a deletion breaks this test rather than the promise's proof."""

from __future__ import annotations

import re

from tests.support.processes import ROOT

DOC = ROOT / "docs" / "guarantees.md"
TEST_NAME = re.compile(r"`(test_\w+)`")


def defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), re.M))
    return names


def test_every_test_the_guarantees_name_exists() -> None:
    named = set(TEST_NAME.findall(DOC.read_text()))
    assert len(named) > 40
    assert sorted(named - defined_tests()) == []
