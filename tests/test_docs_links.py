"""Every relative link in README.md, docs/*.md and bench/README.md resolves: the file
exists, and an anchor names a heading of the Markdown file it points into."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.processes import ROOT

DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")]
)
FENCED = re.compile(r"^```.*?^```$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+\s+(.*?)\s*$", re.M)
MENTION = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)\b")


def prose(path: Path) -> str:
    """The text outside code, where a link is a link."""
    return FENCED.sub("", path.read_text())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(heading) for heading in HEADING.findall(prose(path))}


def relative_links(path: Path) -> list[str]:
    found = LINK.findall(INLINE_CODE.sub("", prose(path)))
    return [target for target in found if not re.match(r"[a-z]+:", target)]


def broken(path: Path, target: str) -> str | None:
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return f"{target}: no such file"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{target}: no heading #{anchor} in {destination.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    problems = [problem for t in relative_links(path) if (problem := broken(path, t))]
    assert problems == []


def test_the_documents_link_somewhere() -> None:
    assert len(DOCUMENTS) >= 10
    assert sum(len(relative_links(path)) for path in DOCUMENTS) > 60


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_markdown_file_named_in_prose_exists(path: Path) -> None:
    """A file cited without a link (`DESIGN.md fact 7`) dangles just the same."""
    named = set(MENTION.findall(LINK.sub("", prose(path))))
    missing = [
        name for name in named if not (path.parent / name).exists() and not (ROOT / name).exists()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Find schedules, act on many at once", "find-schedules-act-on-many-at-once"),
        ("`flaky`: an action that fails on request", "flaky-an-action-that-fails-on-request"),
        ("Runs and dead letters (local engine)", "runs-and-dead-letters-local-engine"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
