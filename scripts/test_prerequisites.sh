#!/usr/bin/env bash
# What `make test` needs beyond the venv: Debian's chromium, which the dashboard's browser
# tests drive through Playwright (Playwright's own browser download cannot run here).
# Present: silent, exit 0. Missing and root: apt-get installs it. Missing otherwise: one
# line saying what to install, exit 1, before pytest runs. Only shell builtins and
# apt-get are used, so it works with any PATH.
set -uo pipefail

NEEDED="chromium (the dashboard's browser tests drive it)"

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "${EUID}" -ne 0 ]; then
    echo "make test needs ${NEEDED}: run 'sudo apt-get install -y chromium', then make test again" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test needs ${NEEDED}: install it with your package manager, then make test again" >&2
    exit 1
fi
echo "Installing ${NEEDED}: apt-get install -y chromium" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || ! command -v chromium >/dev/null 2>&1; then
    echo "make test needs ${NEEDED}: 'apt-get install -y chromium' failed; install it, then make test again" >&2
    exit 1
fi
