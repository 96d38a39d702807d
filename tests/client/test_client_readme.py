"""README.md's "Call it from your own code" section, run as written: its ```python blocks
in order, in one fresh interpreter (as a user's script would), against a real server on
each backend, started fresh so that what the blocks print is exactly what the README
implies. And examples/client_examples.py, the same three examples as a module."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.conftest import API_TOKEN
from tests.support.client_servers import Served, aws_server, local_server
from tests.support.processes import ROOT, base_env
from tests.support.walkthrough import fenced_blocks

README = ROOT / "README.md"
SECTION = "## Call it from your own code"
DOCUMENTED_URL = "http://127.0.0.1:8000"
SERVERS: dict[str, Callable[[Path], AbstractContextManager[Served]]] = {
    "local": local_server,
    "aws": aws_server,
}


def section_blocks(markdown: str) -> list[str]:
    """The ```python blocks between the section's heading and the next one."""
    start = markdown.index(f"\n{SECTION}\n")
    end = markdown.find("\n## ", start + 1)
    section = markdown[start : end if end != -1 else None]
    return [text for language, text in fenced_blocks(section) if language == "python"]


@pytest.fixture(params=list(SERVERS))
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    with SERVERS[request.param](tmp_path) as served:
        yield served


def run_python(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base_env(), "SCHEDULER_API_TOKEN": API_TOKEN},
        cwd=cwd,
    )


def test_the_readme_client_section_runs_as_written(fresh: Served, tmp_path: Path) -> None:
    blocks = section_blocks(README.read_text())
    assert len(blocks) == 2
    script = "\n".join(blocks).replace(DOCUMENTED_URL, fresh.url)
    done = run_python(script, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert re.fullmatch(r"at\(\d{4}-\d\d-\d\dT\d\d:\d\d:00\) 3", lines[0])
    assert lines[1:] == ["taken by True", "True"]


def test_the_examples_module_schedules_the_three_tasks(tmp_path: Path) -> None:
    with local_server(tmp_path) as served:
        code = (ROOT / "examples" / "client_examples.py").read_text()
        done = run_python(code, tmp_path, served.url)
    assert done.returncode == 0, done.stderr
    arns = done.stdout.split()
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    assert names == ["payment-reminder-pay-1001", "welcome-email-456", "cleanup-tmp-77"]
