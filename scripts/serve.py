"""`make run`: the scheduler API under uvicorn, in one process or several (WORKERS=N).

    python scripts/serve.py [--host 127.0.0.1] [--port 8000] [--workers N]

Why not `uvicorn --workers N`: uvicorn binds the socket its workers share with
`socket.socket(family)`, protocol 0, and asyncio sets TCP_NODELAY only on sockets whose
protocol is IPPROTO_TCP (asyncio's _set_nodelay). So every accepted connection keeps
Nagle's algorithm, and a keep-alive response waits on the client's delayed ACK: about
40 ms more per request (uvicorn issue #3149, open). Here the listening socket is made with
IPPROTO_TCP, then handed to uvicorn's own supervisor (uvicorn.supervisors.Multiprocess),
which runs the workers as `uvicorn --workers` does. One worker needs none of this: uvicorn
then lets asyncio create the socket, with the right protocol.

With several workers, /metrics sums every process's counts through prometheus-client's
multiprocess mode: PROMETHEUS_MULTIPROC_DIR is set to var/prometheus-multiproc (emptied
at each start) unless the environment sets it already.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler_api.config import (  # after the path is set
    ConfigurationError,
    check_multiprocess_dir,
    load_settings,
)

APP = "scheduler_api.main:app"
STARTUP_FAILURE = 3  # uvicorn's exit status when the app does not start
MULTIPROC_DIR = Path("var/prometheus-multiproc")


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound (not yet listening) with IPPROTO_TCP, so accepted connections get TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def prepare_metrics_dir() -> None:
    """Each process's counts go to files there; stale ones from a previous run would be
    added to the sums, so our own directory is emptied first."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    shutil.rmtree(MULTIPROC_DIR, ignore_errors=True)
    MULTIPROC_DIR.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(MULTIPROC_DIR.resolve())


def check_settings() -> None:
    """Every worker would refuse the same bad setting; said once here, before any starts
    (uvicorn's supervisor then reports each worker's failure and still exits 0)."""
    load_settings()
    check_multiprocess_dir(os.environ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS") or 1))
    # The app logs each request once, with its id (observability/logging.py): uvicorn's
    # access line is always off. The flag is kept so that older command lines still run.
    parser.add_argument(
        "--no-access-log", action="store_true", help="the default: kept for scripts"
    )
    parser.add_argument("--log-level", default=None)
    args = parser.parse_args(argv)
    if args.workers < 1:
        print("serve: --workers must be 1 or more", file=sys.stderr)
        return 2
    options = {"access_log": False, "log_level": args.log_level}
    if args.workers == 1:
        uvicorn.run(APP, host=args.host, port=args.port, **options)
        return 0
    prepare_metrics_dir()
    try:
        check_settings()
    except ConfigurationError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return STARTUP_FAILURE
    config = uvicorn.Config(APP, host=args.host, port=args.port, workers=args.workers, **options)
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"serve: http://{args.host}:{args.port}, {args.workers} worker processes",
        file=sys.stderr,
    )
    Multiprocess(config, sockets=[sock]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
