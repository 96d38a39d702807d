"""Build dist/lambda_worker.zip: the worker and its pinned dependencies, for Lambda's platform.

    python scripts/package_lambda.py [--runtime python3.12] [--arch x86_64|arm64] [--output PATH]
    python scripts/package_lambda.py --api    # dist/scheduler_api.zip, the API's own function

Wheels are fetched for the Lambda platform (manylinux2014, the runtime's Python), never
the host's, so a build on macOS or another Python still imports on Lambda. The zip is
reproducible: sorted entries, fixed timestamps and permissions, so the same inputs give
the same bytes and its SHA-256 names the build.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-lambda.txt"
SOURCE = ROOT / "lambda_worker"
CONTRACT = ROOT / "task_contract.py"  # the payload contract the worker shares with the API
DEFAULT_OUTPUT = ROOT / "dist" / "lambda_worker.zip"
# The template's optional second function: the scheduler API itself (Mangum).
API_REQUIREMENTS = ROOT / "requirements-api-lambda.txt"
API_SOURCE = ROOT / "scheduler_api"
API_OUTPUT = ROOT / "dist" / "scheduler_api.zip"

ZIPPED_LIMIT = 50 * 1024 * 1024  # direct upload
UNZIPPED_LIMIT = 250 * 1024 * 1024
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# The runtime provides these; anything else here is dead weight on Lambda.
EXCLUDED_TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "bin", "__pycache__")
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".pyi")
EXCLUDED_DIRS = ("__pycache__",)


class PackageError(Exception):
    """A build that must not be deployed; the message says why."""


@dataclass(frozen=True)
class Package:
    path: Path
    sha256: str  # hex
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    @property
    def code_sha256(self) -> str:
        """As Lambda reports it (CodeSha256): base64 of the digest."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()

    def summary(self) -> str:
        return (
            f"{self.path}: {self.zipped_bytes / 1e6:.2f} MB zipped, "
            f"{self.unzipped_bytes / 1e6:.2f} MB unzipped, {self.files} files, "
            f"sha256 {self.sha256}"
        )


def python_version(runtime: str) -> str:
    if not runtime.startswith("python3."):
        raise PackageError(f"LAMBDA_RUNTIME must look like python3.12, not {runtime!r}")
    return runtime.removeprefix("python")


def install_dependencies(
    target: Path, runtime: str, arch: str, requirements: Path = REQUIREMENTS
) -> None:
    """pip install the pinned requirements for Lambda's platform into `target`.

    --no-deps: requirements-lambda.txt must name every package, so a missing one fails the
    smoke test here instead of being pulled in silently.
    """
    if arch not in PLATFORMS:
        raise PackageError(f"LAMBDA_ARCH must be one of {', '.join(PLATFORMS)}, not {arch!r}")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp",
        "--platform", PLATFORMS[arch], "--python-version", python_version(runtime),
        "--target", str(target), "--requirement", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageError(f"pip could not fetch Lambda wheels:\n{result.stderr.strip()}")


def _wanted(relative: Path) -> bool:
    top = relative.parts[0]
    package = top.split("-")[0] if top.endswith(".dist-info") else top
    if package.lower() in EXCLUDED_TOP_LEVEL:
        return False
    if any(part in EXCLUDED_DIRS for part in relative.parts):
        return False
    return not relative.name.endswith(EXCLUDED_SUFFIXES)


def files_to_zip(staging: Path) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every file kept, sorted by name."""
    return sorted(
        (path.relative_to(staging).as_posix(), path)
        for path in staging.rglob("*")
        if path.is_file() and _wanted(path.relative_to(staging))
    )


def write_zip(staging: Path, output: Path) -> None:
    """A byte-for-byte reproducible zip of `staging`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in files_to_zip(staging):
            info = zipfile.ZipInfo(name, FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(output)


def check_limits(
    package: Package, zipped_limit: int = ZIPPED_LIMIT, unzipped_limit: int = UNZIPPED_LIMIT
) -> None:
    if package.zipped_bytes > zipped_limit:
        raise PackageError(
            f"{package.path} is {package.zipped_bytes / 1e6:.1f} MB zipped; Lambda's direct "
            f"upload limit is {zipped_limit / 1e6:.0f} MB: trim requirements-lambda.txt"
        )
    if package.unzipped_bytes > unzipped_limit:
        raise PackageError(
            f"{package.path} is {package.unzipped_bytes / 1e6:.1f} MB unzipped; Lambda's "
            f"limit is {unzipped_limit / 1e6:.0f} MB: trim requirements-lambda.txt"
        )


def package_of(path: Path) -> Package:
    """Describe a zip built earlier."""
    if not path.is_file():
        raise PackageError(f"{path} does not exist: run make package-lambda first")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    unzipped = sum(info.file_size for info in infos)
    return Package(path, hashlib.sha256(data).hexdigest(), len(data), unzipped, len(infos))


def build(
    runtime: str = "python3.12",
    arch: str = "x86_64",
    output: Path = DEFAULT_OUTPUT,
    requirements: Path = REQUIREMENTS,
    source: Path = SOURCE,
) -> Package:
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as temp:
        staging = Path(temp)
        install_dependencies(staging, runtime, arch, requirements)
        shutil.copytree(source, staging / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(CONTRACT, staging / CONTRACT.name)
        write_zip(staging, output)
    package = package_of(output)
    check_limits(package)
    return package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default=os.environ.get("LAMBDA_RUNTIME", "python3.12"))
    parser.add_argument("--arch", default=os.environ.get("LAMBDA_ARCH", "x86_64"))
    parser.add_argument("--output", type=Path)
    parser.add_argument("--api", action="store_true", help="the scheduler API's zip instead")
    args = parser.parse_args(argv)
    try:
        if args.api:
            output = args.output or API_OUTPUT
            package = build(args.runtime, args.arch, output, API_REQUIREMENTS, API_SOURCE)
        else:
            package = build(args.runtime, args.arch, args.output or DEFAULT_OUTPUT)
    except PackageError as exc:
        print(f"package-lambda: {exc}", file=sys.stderr)
        return 1
    print(package.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
