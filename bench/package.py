"""Benchmark 6: the Lambda zip's size, as `make package-lambda` builds it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import Result
from scripts.package_lambda import UNZIPPED_LIMIT, ZIPPED_LIMIT, build


def package_size() -> Result:
    with tempfile.TemporaryDirectory() as temp:
        package = build("python3.12", "x86_64", Path(temp) / "lambda_worker.zip")
    return Result(
        name="6. package",
        measured="dist/lambda_worker.zip for python3.12, x86_64",
        runs="1 build",
        figures={
            "zipped_mb": round(package.zipped_bytes / 1e6, 2),
            "unzipped_mb": round(package.unzipped_bytes / 1e6, 2),
            "files": package.files,
            "share_of_zipped_limit": round(package.zipped_bytes / ZIPPED_LIMIT, 3),
            "share_of_unzipped_limit": round(package.unzipped_bytes / UNZIPPED_LIMIT, 3),
        },
        target="under Lambda's limits (50 MB zipped, 250 MB unzipped)",
        met=package.zipped_bytes <= ZIPPED_LIMIT and package.unzipped_bytes <= UNZIPPED_LIMIT,
    )
