"""`make test` on a bare machine: scripts/test_prerequisites.sh, run before pytest, is
silent when chromium is on PATH, installs it with apt-get as root, and otherwise prints
one line saying what to install and exits non-zero. Each test runs the real script with a
PATH of its own (a directory of stubs), so the machine's chromium is hidden from it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import ROOT

SCRIPT = ROOT / "scripts" / "test_prerequisites.sh"
BASH = "/bin/bash"
NOBODY = 65534
AS_ROOT = os.geteuid() == 0


def stub(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)
    return path


def run(path: Path, *, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """The script fed on stdin, from /: `user` may not be able to read the checkout (a
    clone in a mktemp -d directory is 0700), and bash as `user` would complain of a
    working directory it cannot reach."""
    return subprocess.run(
        [BASH, "-s"],
        input=SCRIPT.read_text(),
        cwd="/",
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        user=user,
    )


@pytest.fixture
def bare_path(tmp_path: Path) -> Path:
    """A PATH directory everyone may read, with no chromium in it."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for each in (tmp_path, directory):
        each.chmod(0o755)
    return directory


def test_with_chromium_on_path_it_passes_silently(bare_path: Path) -> None:
    stub(bare_path, "chromium", "exit 0")
    result = run(bare_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_chromium_and_not_root_it_names_the_package_in_one_line(
    bare_path: Path,
) -> None:
    result = run(bare_path, user=NOBODY if AS_ROOT else None)  # nobody: not root
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "sudo apt-get install -y chromium" in result.stderr


@pytest.mark.skipif(not AS_ROOT, reason="installing needs root; the test above covers non-root")
def test_as_root_it_installs_chromium_with_apt_get(bare_path: Path) -> None:
    calls = bare_path / "apt-get.calls"
    stub(  # an apt-get that records its arguments and "installs" a chromium
        bare_path,
        "apt-get",
        f'echo "$DEBIAN_FRONTEND $*" >> {calls}\n'
        f'if [ "$1" = install ]; then printf "#!{BASH}\\nexit 0\\n" > {bare_path}/chromium; '
        f"/bin/chmod +x {bare_path}/chromium; fi",
    )
    result = run(bare_path)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [
        " update -qq",
        "noninteractive install -y -qq chromium",
    ]
    assert re.fullmatch(r"Installing chromium .*: apt-get install -y chromium\n", result.stderr)
    assert run(bare_path).stderr == ""  # and the next run is silent


@pytest.mark.skipif(not AS_ROOT, reason="installing needs root; the test above covers non-root")
def test_as_root_a_failed_install_is_one_line_and_non_zero(bare_path: Path) -> None:
    stub(bare_path, "apt-get", 'echo "E: Unable to locate package chromium" >&2; exit 100')
    result = run(bare_path)
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert "'apt-get install -y chromium' failed" in last
    assert "Unable to locate" not in result.stderr  # apt's own output is not repeated


def test_as_root_without_apt_get_it_says_to_install_chromium(bare_path: Path) -> None:
    if not AS_ROOT:
        pytest.skip("the non-root message is checked above")
    result = run(bare_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "install it with your package manager" in result.stderr


def makefile_recipe(target: str) -> tuple[str, list[str]]:
    """The prerequisites line and the recipe lines of a Makefile target."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return lines[start], recipe


def test_make_test_runs_the_check_before_pytest_and_ci_needs_no_install_step() -> None:
    test_line, _ = makefile_recipe("test")
    prerequisites = test_line.split(":", 1)[1].split("##")[0].split()
    assert prerequisites[0] == "test-prerequisites"  # before the venv and pytest
    _, check = makefile_recipe("test-prerequisites")
    assert check == ["@bash scripts/test_prerequisites.sh"]
    assert "apt-get" not in (ROOT / ".ci" / "run").read_text()
