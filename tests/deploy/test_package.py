"""The Lambda zip: built for Lambda's platform, reproducible, lean, and importable alone."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts.invoke_local import sample_event
from scripts.package_lambda import (
    FIXED_TIMESTAMP,
    REQUIREMENTS,
    Package,
    PackageError,
    build,
    check_limits,
    main,
)
from tests.conftest import LOCAL_ARCH, LOCAL_RUNTIME

SMOKE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from lambda_worker.handler import lambda_handler
response = lambda_handler(json.load(sys.stdin), {})
print(json.dumps({"response": response, "boto3_loaded": "boto3" in sys.modules}))
"""


def scheduled_event() -> str:
    return sample_event("smoke-1", scheduled_time="2030-01-01T00:00:00Z", execution_id="smoke")


def run_isolated(package: Package, directory: Path) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(directory)
    # -I: no environment, user site or cwd on the path; -S: no site-packages at all.
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", SMOKE, str(directory)],
        input=scheduled_event(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_zip_alone_runs_a_scheduled_payload(local_package: Package, tmp_path: Path) -> None:
    result = run_isolated(local_package, tmp_path)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.splitlines()[-1])
    assert output["response"]["statusCode"] == 200
    assert json.loads(output["response"]["body"])["task_id"] == "smoke-1"
    assert output["boto3_loaded"] is False


def test_a_dependency_missing_from_requirements_is_caught(tmp_path: Path) -> None:
    lines = REQUIREMENTS.read_text().splitlines()
    trimmed = tmp_path / "requirements-lambda.txt"
    trimmed.write_text("\n".join(line for line in lines if not line.startswith("starlette")))
    package = build(LOCAL_RUNTIME, LOCAL_ARCH, tmp_path / "broken.zip", requirements=trimmed)
    result = run_isolated(package, tmp_path / "unpacked")
    assert result.returncode != 0
    assert "No module named 'starlette'" in result.stderr


def test_the_same_inputs_give_the_same_bytes(local_package: Package, tmp_path: Path) -> None:
    again = build(LOCAL_RUNTIME, LOCAL_ARCH, tmp_path / "again.zip")
    assert again.sha256 == local_package.sha256
    assert again.path.read_bytes() == local_package.path.read_bytes()


def test_contents_are_lean_and_normalised(local_package: Package) -> None:
    with zipfile.ZipFile(local_package.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "lambda_worker/handler.py" in names
    assert "task_contract.py" in names  # what the worker shares with the scheduler API
    assert "lambda_worker/actions/send_notification.py" in names
    assert any(name.startswith("pydantic_core/_pydantic_core") for name in names)
    tops = {name.split("/")[0] for name in names}
    assert not {"boto3", "botocore", "s3transfer", "bin", "tests"} & tops
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyi"))]
    assert {info.date_time for info in infos} == {FIXED_TIMESTAMP}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert local_package.files == len(names)


def test_wheels_are_for_lambdas_platform_not_the_hosts(tmp_path: Path) -> None:
    package = build("python3.12", "arm64", tmp_path / "arm.zip")
    with zipfile.ZipFile(package.path) as archive:
        native = [n for n in archive.namelist() if n.startswith("pydantic_core/_pydantic_core")]
    assert native == ["pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so"]


def test_size_limits_fail_with_a_clear_message(local_package: Package) -> None:
    with pytest.raises(PackageError, match="direct upload limit"):
        check_limits(local_package, zipped_limit=1_000_000)
    with pytest.raises(PackageError, match="MB unzipped; Lambda's limit"):
        check_limits(local_package, unzipped_limit=5_000_000)


def test_bad_runtime_or_arch_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--runtime", "nodejs20.x", "--output", str(tmp_path / "x.zip")]) == 1
    assert "LAMBDA_RUNTIME must look like python3.12" in capsys.readouterr().err
    assert main(["--arch", "sparc", "--output", str(tmp_path / "x.zip")]) == 1
    assert "LAMBDA_ARCH must be one of" in capsys.readouterr().err


def test_main_prints_the_sizes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--runtime", LOCAL_RUNTIME, "--output", str(tmp_path / "w.zip")]) == 0
    out = capsys.readouterr().out
    assert "MB zipped" in out
    assert "MB unzipped" in out
    assert "sha256" in out
