"""`make template` (scripts/template.py) as a user runs it: a process in a directory with its
own .env. It refuses a setting the stack could never deploy, in one line on stderr with exit
code 2, and --no-env-file (what `make lint` passes) builds the same template whatever that
.env holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

SCRIPT = ROOT / "scripts" / "template.py"


def run(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), **settings}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(cwd / "template.json"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_default_group_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, SCHEDULER_GROUP_NAME="default")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("template: SCHEDULER_GROUP_NAME=default is AWS's own group")
    assert not (tmp_path / "template.json").exists()


def test_the_default_group_in_a_dot_env_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SCHEDULER_GROUP_NAME=default\n")
    assert run(tmp_path).returncode == 2


def test_no_env_file_ignores_a_local_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LAMBDA_MEMORY_MB=99999\nLAMBDA_FUNCTION_NAME=mine\n")
    with_env = run(tmp_path)
    assert with_env.returncode == 2
    assert with_env.stderr.startswith("template: bad setting: LAMBDA_MEMORY_MB")
    result = run(tmp_path, "--no-env-file")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "template.json").read_text())
    function = document["Resources"]["WorkerFunction"]["Properties"]
    assert (function["FunctionName"], function["MemorySize"]) == ("FastAPI_Scheduled_Tasks", 512)


def test_make_lint_builds_the_template_without_the_dot_env() -> None:
    planned = subprocess.run(
        ["make", "-n", "lint"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    [line] = [line for line in planned.splitlines() if "scripts/template.py" in line]
    assert "--no-env-file" in line
