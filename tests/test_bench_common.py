"""bench/common.py's `last_json`: a benchmark process's figures are the last JSON line of
its stderr, whatever the interpreter prints after them as it exits."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.common import last_json

# What a CI run's bench.engine_run printed after its figures: an event loop left unclosed
# (Mangum's, in a daemon pool thread) whose self-pipe was finalized before it.
_EXITS_WITH_A_LOOPS_FINALIZER_FAILING = """
import asyncio, json, sys
loop = asyncio.new_event_loop()
print(json.dumps({"runs": 40}), file=sys.stderr)
loop._ssock.close()  # as interpreter exit can leave it, before the loop's __del__
"""


def test_the_figures_are_found_before_what_the_interpreter_prints_at_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EXITS_WITH_A_LOOPS_FINALIZER_FAILING],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stderr.strip().splitlines()[-1] == "ValueError: Invalid file descriptor: -1"
    assert last_json(done.stderr) == {"runs": 40}


def test_a_process_that_printed_no_figures_is_an_error_that_shows_its_stderr() -> None:
    with pytest.raises(ValueError, match="Traceback"):
        last_json("starting\nTraceback (most recent call last):\n  boom\n")
