# Every target creates .venv and installs the pinned requirements first, so a
# fresh clone needs nothing but python3 (3.11 or newer). `make run` and the deploy
# targets install the runtime set only (requirements.txt); test, lint, format, bench and
# screenshots add the development tools (requirements-dev.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# Test processes (pytest-xdist): each test's servers, ports and files are its own, so the
# suite runs on every core. TEST_PROCESSES=0 runs it in this one process.
TEST_PROCESSES ?= 2

.PHONY: install install-dev test-prerequisites test lint format run clean package-lambda package-api template deploy-lambda destroy reindex invoke-local logs bench screenshots

$(RUNTIME_STAMP): requirements.txt requirements-lambda.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt -c constraints.txt
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints.txt
	@touch $(DEV_STAMP)

install: $(RUNTIME_STAMP)  ## create .venv with what the API needs at runtime (requirements.txt)

install-dev: $(DEV_STAMP)  ## add the test and lint tools (requirements-dev.txt)

test-prerequisites:  ## what the tests need outside the venv (chromium): installed as root, else named
	@bash scripts/test_prerequisites.sh

test: test-prerequisites $(DEV_STAMP)  ## run the test suite (moto in-process and a moto_server on loopback; TEST_PROCESSES=2)
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: $(DEV_STAMP)  ## ruff, mypy, the import contracts (.importlinter) and cfn-lint on the template, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@lint_dir=$$(mktemp -d) && trap 'rm -rf "$$lint_dir"' EXIT && \
	  $(BIN)/python scripts/template.py --no-env-file --output "$$lint_dir/template.json" && \
	  $(BIN)/cfn-lint "$$lint_dir/template.json"

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: $(RUNTIME_STAMP)  ## scheduler API on $(HOST):$(PORT), WORKERS processes; local engine unless .env names an AWS target
	PUBLIC_URL=http://$(HOST):$(PORT) LEDGER_DB_PATH=$${LEDGER_DB_PATH:-var/ledger.db} $(BIN)/python scripts/serve.py --host $(HOST) --port $(PORT) --workers $(WORKERS)

package-lambda: $(RUNTIME_STAMP)  ## dist/lambda_worker.zip for LAMBDA_RUNTIME (python3.12) and LAMBDA_ARCH (x86_64|arm64)
	$(BIN)/python scripts/package_lambda.py

package-api: $(RUNTIME_STAMP)  ## dist/scheduler_api.zip: the API as a function, for the template's DeployApi=true
	$(BIN)/python scripts/package_lambda.py --api

template: $(RUNTIME_STAMP)  ## dist/template.json: what deploy-lambda creates, as a SAM/CloudFormation template (docs/deploy.md)
	$(BIN)/python scripts/template.py $(ARGS)

deploy-lambda: $(RUNTIME_STAMP)  ## build the zip, then create/update every AWS resource (ARGS=--dry-run to preview)
	$(BIN)/python scripts/deploy.py deploy $(ARGS)

destroy: $(RUNTIME_STAMP)  ## remove what deploy-lambda created, schedules included (asks first; ARGS=--yes)
	$(BIN)/python scripts/deploy.py destroy $(ARGS)

reindex: $(RUNTIME_STAMP)  ## rebuild SCHEDULE_TABLE from EventBridge, with a progress bar (safe to repeat)
	$(BIN)/python scripts/reindex.py $(ARGS)

invoke-local: $(RUNTIME_STAMP)  ## run a sample scheduled event through the local handler
	$(BIN)/python scripts/invoke_local.py $(ARGS)

logs: $(RUNTIME_STAMP)  ## the function's CloudWatch logs (ARGS="--since 1h --follow")
	$(BIN)/python scripts/tail_logs.py $(ARGS)

bench: $(DEV_STAMP)  ## every benchmark, as ratios to same-run baselines (ARGS="--quick --steady-seconds 10")
	$(BIN)/python -m bench.run $(ARGS)

screenshots: test-prerequisites $(DEV_STAMP)  ## the dashboard's pictures in docs/screenshots (the browser tests take them)
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/system/test_dashboard.py

clean:  ## remove the venv, caches and build output (not var/, which holds local schedules)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist
