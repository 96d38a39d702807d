"""Runtime and development requirements are apart: `make run` installs requirements.txt
(the API) only, `make test`/`lint`/`bench` add requirements-dev.txt, and one
constraints.txt pins both. What the API imports when it starts is all in the runtime set."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import ROOT
from tests.tooling.test_test_prerequisites import makefile_recipe

DEV_TOOLS = {
    "pytest",
    "moto",
    "mypy",
    "playwright",
    "ruff",
    "hypothesis",
    "schemathesis",
    "httpx",
    "parliament",
    "import-linter",
    "boto3-stubs",
    "aws-croniter",
    # benchmark 11's peers (requirements-bench.txt, included by requirements-dev.txt)
    "apscheduler",
    "huey",
    "sqlalchemy",
}

# Loaded when present, not needed: botocore imports certifi if it can (else its own CA
# bundle), and setuptools' _distutils_hack comes from the venv's .pth file.
OPTIONAL_AT_START = {"certifi", "setuptools"}


def requirements(name: str) -> dict[str, Requirement]:
    """A requirements file's pins by canonical name, its `-r` includes followed."""
    found: dict[str, Requirement] = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= requirements(line.removeprefix("-r ").strip())
        elif line.startswith("-e ./"):
            assert (ROOT / line.removeprefix("-e ") / "pyproject.toml").exists(), line
            continue  # a package of this repository (client/): installed from here, no pin
        elif line:
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def constraints() -> dict[str, str]:
    pins = requirements("constraints.txt")
    return {name: str(next(iter(pin.specifier)).version) for name, pin in pins.items()}


def installed_closure(names: set[str]) -> set[str]:
    """The distributions `names` pull in, as installed here (markers and extras honoured)."""
    closure: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        for spec in metadata.requires(name) or []:
            dependency = Requirement(spec)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(dependency.name))
    return closure


def test_the_runtime_requirements_hold_no_test_or_lint_tool() -> None:
    runtime = set(requirements("requirements.txt"))
    assert runtime & DEV_TOOLS == set()
    assert installed_closure(runtime) & DEV_TOOLS == set()  # not even transitively
    assert set(requirements("requirements-dev.txt")) >= DEV_TOOLS


def test_dev_requirements_build_on_the_runtime_ones_and_the_lambda_zip_stays_apart() -> None:
    dev_lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev_lines
    assert set(requirements("requirements-lambda.txt")) <= set(requirements("requirements.txt"))
    assert set(requirements("requirements-lambda.txt")) & DEV_TOOLS == set()


def test_every_pin_agrees_with_constraints() -> None:
    pinned = constraints()
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-lambda.txt"):
        for package, requirement in requirements(name).items():
            version = str(next(iter(requirement.specifier)).version)
            assert pinned.get(package) == version, f"{name}: {package}"


def test_make_run_installs_the_runtime_requirements_only() -> None:
    run_line, _ = makefile_recipe("run")
    assert run_line.split(":", 1)[1].split("##")[0].split() == ["$(RUNTIME_STAMP)"]
    _, runtime_install = makefile_recipe("$(RUNTIME_STAMP)")
    installs = [line for line in runtime_install if "PIP_INSTALL" in line]
    assert installs == ["$(PIP_INSTALL) -r requirements.txt -c constraints.txt"]
    for target in ("test", "lint", "bench"):
        line, _ = makefile_recipe(target)
        assert "$(DEV_STAMP)" in line, target
    _, dev_install = makefile_recipe("$(DEV_STAMP)")
    assert dev_install == [
        "$(PIP_INSTALL) -r requirements-dev.txt -c constraints.txt",
        "@touch $(DEV_STAMP)",
    ]


def test_what_the_api_loads_at_start_is_in_the_runtime_set() -> None:
    """Import the app (and the Lambda handler) in a fresh interpreter and map every module
    it loaded to its distribution: each must be in requirements.txt's closure."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, scheduler_api.main, lambda_worker.handler, scripts.serve\n"
            "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    owners = metadata.packages_distributions()
    distributions = {canonicalize_name(d) for module in loaded for d in owners.get(module, [])}
    runtime = installed_closure(set(requirements("requirements.txt")))
    assert distributions, "no distribution found: packages_distributions() saw nothing"
    assert distributions - runtime - OPTIONAL_AT_START == set()
    assert re.search("fastapi", " ".join(sorted(distributions)))
