"""README.md's walkthrough, run as written: every ```sh block in order, in one shell,
against a server started as `make run` starts it (scripts/serve.py under uvicorn, the local
engine, its own SQLite files, a free port), and each printed response compared with the
```json block the README shows after it (tests/support/walkthrough.py says how)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, base_env, free_port, running
from tests.support.walkthrough import (
    COMMAND_LANGUAGES,
    STEP_LANGUAGE,
    Step,
    fenced_blocks,
    json_documents,
    mismatches,
    steps,
)

README = ROOT / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"
WALKTHROUGH_DEADLINE_SECONDS = 120  # the README's polling loops end long before


@pytest.fixture
def make_run_server(tmp_path: Path) -> Iterator[str]:
    """What `make run` starts, in a directory of its own (no .env, no var/ of the clone),
    with retries a hundred times quicker than the default so the dead letter comes soon."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **base_env(),
        "PUBLIC_URL": url,
        "LEDGER_DB_PATH": str(tmp_path / "var" / "ledger.db"),
        "LOCAL_DB_PATH": str(tmp_path / "var" / "scheduler.db"),
        "LOCAL_RETRY_BASE_SECONDS": "0.02",
    }
    args = [sys.executable, str(ROOT / "scripts" / "serve.py"), "--port", str(port)]
    with running(args, f"{url}/health", env, tmp_path):
        yield url


def walkthrough_script(walk: list[Step], url: str, outputs: Path) -> str:
    """One bash script: each step's output to its own file, stopping at the first failure."""
    lines = ["set -euo pipefail"]
    for step in walk:
        lines += [
            f"echo 'step {step.number}' >&2",
            "{",
            step.script.replace(DOCUMENTED_URL, url).rstrip("\n"),
            f"}} > {outputs / str(step.number)}",
        ]
    return "\n".join(lines) + "\n"


def test_the_walkthrough_runs_top_to_bottom_as_documented(
    make_run_server: str, tmp_path: Path
) -> None:
    walk = steps(README.read_text())
    assert len(walk) >= 12
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    script = walkthrough_script(walk, make_run_server, outputs)
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=WALKTHROUGH_DEADLINE_SECONDS,
        env=base_env(),
        cwd=tmp_path,
    )
    reached = done.stderr.strip().splitlines()
    assert done.returncode == 0, f"stopped at {reached[-1:]}:\n{done.stderr}"
    problems: list[str] = []
    for step in walk:
        printed = (outputs / str(step.number)).read_text()
        if step.expected is None:
            if printed.strip():
                problems.append(f"step {step.number} printed {printed!r}, documented nothing")
            continue
        responses = json_documents(printed)
        if len(responses) != len(step.expected):
            problems.append(f"step {step.number}: {len(responses)} responses: {printed}")
            continue
        for expected, actual in zip(step.expected, responses, strict=True):
            problems += [f"step {step.number} {line}" for line in mismatches(expected, actual)]
    assert problems == []


def test_every_shell_block_is_a_step_or_only_make_targets() -> None:
    """A shell example the test does not run could break unseen: the others name only
    make targets (the two commands, deploy), whose own tests cover them."""
    for language, text in fenced_blocks(README.read_text()):
        if language in COMMAND_LANGUAGES:
            commands = [line for line in text.splitlines() if line.strip()]
            assert all(re.match(r"make [\w-]+", line) for line in commands), text
        else:
            # python: the client section, run by tests/client/test_client_readme.py
            assert language in (STEP_LANGUAGE, "json", "text", "python", ""), language


def test_the_server_is_started_as_make_run_starts_it() -> None:
    recipe = re.search(r"^run:.*\n\t(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert "scripts/serve.py" in recipe.group(1)
    for variable in ("PUBLIC_URL=", "LEDGER_DB_PATH="):
        assert variable in recipe.group(1)


@pytest.mark.parametrize(
    ("expected", "actual", "differs"),
    [
        ({"a": 1, "...": "..."}, {"a": 1, "b": 2}, False),
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": "..."}, {"a": [1]}, False),
        ([1, "..."], [1, 2, 3], False),
        ([1], [1, 2], True),
        ({"t": "at(2026-11-26T09:31:00)"}, {"t": "at(2030-01-01T00:00:00)"}, False),
        ({"t": "2026-11-26T09:31:00Z"}, {"t": "2030-01-01T00:00:00.123Z"}, False),
        ({"status": "SUCCEEDED"}, {"status": "FAILED"}, True),
        ({"n": 1}, {"n": True}, True),
    ],
)
def test_the_comparison_shortens_only_where_the_readme_says(
    expected: object, actual: object, differs: bool
) -> None:
    assert bool(mismatches(expected, actual)) is differs
