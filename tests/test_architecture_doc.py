"""docs/architecture.md traces requests file by file: every file it links exists, and every
name it gives right after a link is defined in that file (so a rename breaks this test,
not a reader's trust)."""

from __future__ import annotations

import re

import pytest

from tests.support.processes import ROOT

DOC = ROOT / "docs" / "architecture.md"
LINK = re.compile(r"\]\(([^)#\s]+)\)")
LINK_THEN_NAME = re.compile(r"\]\(([^)#\s]+\.py)\)\s+`([A-Za-z_][\w.]*)`")


def test_every_relative_link_resolves() -> None:
    targets = [t for t in LINK.findall(DOC.read_text()) if "://" not in t]
    assert len(targets) > 30
    missing = [t for t in targets if not (DOC.parent / t).resolve().exists()]
    assert missing == []


@pytest.mark.parametrize(("target", "name"), LINK_THEN_NAME.findall(DOC.read_text()))
def test_each_name_after_a_link_is_defined_there(target: str, name: str) -> None:
    source = (DOC.parent / target).resolve().read_text()
    last = name.split(".")[-1]
    assert re.search(rf"^\s*(async def|def|class)\s+{re.escape(last)}\b", source, re.M), (
        f"{name} is not defined in {target}"
    )
