"""Real server processes for tests: a moto_server and the scheduler API under uvicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll until the process answers; fail at once if it exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{output}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # readiness poll of another process, not waiting for time
    raise RuntimeError(f"{url} did not start within {STARTUP_TIMEOUT}s")


@contextmanager
def running(
    args: list[str],
    ready_url: str,
    env: dict[str, str],
    cwd: Path,
    preexec: Callable[[], None] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    # Output goes to a file: a pipe nobody reads fills up and blocks the server.
    with tempfile.NamedTemporaryFile(prefix="server-", suffix=".log", delete=False) as output:
        log = Path(output.name)
        process = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, preexec_fn=preexec
        )
    try:
        wait_until_serving(ready_url, process, log)
        yield process
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def probe_server_env(home: Path) -> dict[str, str]:
    """A local server whose handler fails on request (tests.support.probe_handler), no retries."""
    return {
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(home / "s.db"),
        "LOCAL_LAMBDA_HANDLER": "tests.support.probe_handler.failing_handler",
        "PROBE_FAIL_FILE": str(home / "fail.txt"),
        "LOCAL_MAX_RETRIES": "0",
    }


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SCHEDULER_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        PYTHONPATH=str(ROOT),
    )
    return env


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(args, f"{url}/moto-api/", base_env(), ROOT):
        yield url


@contextmanager
def scheduler_api(env: dict[str, str], cwd: Path) -> Iterator[str]:
    with scheduler_api_process(env, cwd) as (url, _):
        yield url


@contextmanager
def scheduler_api_process(
    env: dict[str, str], cwd: Path, preexec: Callable[[], None] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "scheduler_api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running(args, f"{url}/health", {**base_env(), **env}, cwd, preexec) as process:
        yield url, process


@contextmanager
def uvicorn_with_log(
    env: dict[str, str],
    cwd: Path,
    app: tuple[str, ...] = ("scheduler_api.main:app",),
    health_path: str = "/health",
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """An app under uvicorn (the scheduler API unless `app` names another, e.g.
    ("--factory", "module:create")), its output kept in a file the test reads; `env` is
    added to base_env()."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = cwd / f"server-{port}.log"
    args = [sys.executable, "-m", "uvicorn", *app, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, env={**base_env(), **env}, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_serving(f"{url}{health_path}", process, log)
        yield url, process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextmanager
def engine_process(
    db_path: Path, env: dict[str, str], stale_after: float
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A local engine alone in a process (tests/support/engine_process.py), and its owner."""
    ready = db_path.parent / f"engine-{free_port()}.ready"
    log = ready.with_suffix(".log")
    args = [
        sys.executable,
        "-m",
        "tests.support.engine_process",
        str(db_path),
        str(ready),
        str(stale_after),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, env={**base_env(), **env}, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the engine did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)  # readiness poll of another process, not waiting for time
        yield process, ready.read_text()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a test that failed while it was stopped
            stop(process)
