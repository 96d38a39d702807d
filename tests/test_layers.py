"""The dependency direction (.importlinter, run by `make lint`) holds on this tree, and it
bites: a module that reaches up, or a backend that imports the other, breaks a contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contract file, to break on purpose."""
    for package in ("scheduler_api", "lambda_worker"):
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "task_contract.py", tmp_path)
    shutil.copy(ROOT / ".importlinter", tmp_path)
    return tmp_path


def test_every_contract_is_kept_by_this_tree(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout
    assert " broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "reaches_for", "contract"),
    [
        ("scheduler_api/domain/errors.py", "scheduler_api.services.aws_service", "domain"),
        ("scheduler_api/domain/schedules.py", "scheduler_api.bootstrap", "domain"),
        ("scheduler_api/services/etags.py", "scheduler_api.api.deps", "services import"),
        (
            "scheduler_api/backends/local/history.py",
            "scheduler_api.backends.aws.client_errors",
            "do not",
        ),
        ("scheduler_api/backends/aws/client_errors.py", "scheduler_api.services.bulk", "backends"),
        ("scheduler_api/api/auth.py", "scheduler_api.backends.local.backend", "HTTP layer"),
        ("lambda_worker/delivery.py", "scheduler_api.domain.errors", "share only"),
        ("scheduler_api/api/routes/runs.py", "scheduler_api.api.routes.schedule", "routes do"),
        (
            "scheduler_api/backends/local/store/claims.py",
            "scheduler_api.backends.local.engine.loop",
            "runs on its store",
        ),
        ("scheduler_api/embedding.py", "scheduler_api.main", "embedding module"),
    ],
)
def test_an_import_that_reaches_up_or_sideways_breaks_a_contract(
    tree: Path, module: str, reaches_for: str, contract: str
) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\nimport {reaches_for}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken
    assert reaches_for in broken


def test_both_services_import_the_contract_they_share() -> None:
    """What the independence contract leaves them: task_contract, used by each side."""
    for package in ("scheduler_api", "lambda_worker"):
        sources = [path.read_text() for path in (ROOT / package).rglob("*.py")]
        assert any("from task_contract import" in text for text in sources), package
