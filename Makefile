# Every target creates .venv and installs the pinned requirements first, so a
# fresh clone needs nothing but python3 (3.11 or newer).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: install test lint format run clean package-lambda deploy-lambda destroy reindex invoke-local logs bench screenshots

$(STAMP): requirements.txt requirements-lambda.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned requirements

test: $(STAMP)  ## run the test suite (moto in-process and a moto_server on loopback)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff, mypy and the import contracts (.importlinter), as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: $(STAMP)  ## scheduler API on $(HOST):$(PORT), WORKERS processes; local engine unless .env names an AWS target
	PUBLIC_URL=http://$(HOST):$(PORT) LEDGER_DB_PATH=$${LEDGER_DB_PATH:-var/ledger.db} $(BIN)/python scripts/serve.py --host $(HOST) --port $(PORT) --workers $(WORKERS)

package-lambda: $(STAMP)  ## dist/lambda_worker.zip for LAMBDA_RUNTIME (python3.12) and LAMBDA_ARCH (x86_64|arm64)
	$(BIN)/python scripts/package_lambda.py

deploy-lambda: $(STAMP)  ## build the zip, then create/update every AWS resource (ARGS=--dry-run to preview)
	$(BIN)/python scripts/deploy.py deploy $(ARGS)

destroy: $(STAMP)  ## remove what deploy-lambda created, schedules included (asks first; ARGS=--yes)
	$(BIN)/python scripts/deploy.py destroy $(ARGS)

reindex: $(STAMP)  ## rebuild SCHEDULE_TABLE from EventBridge, with a progress bar (safe to repeat)
	$(BIN)/python scripts/reindex.py $(ARGS)

invoke-local: $(STAMP)  ## run a sample scheduled event through the local handler
	$(BIN)/python scripts/invoke_local.py $(ARGS)

logs: $(STAMP)  ## the function's CloudWatch logs (ARGS="--since 1h --follow")
	$(BIN)/python scripts/tail_logs.py $(ARGS)

bench: $(STAMP)  ## every benchmark, as ratios to same-run baselines (ARGS="--quick --steady-seconds 10")
	$(BIN)/python -m bench.run $(ARGS)

screenshots: $(STAMP)  ## the dashboard's pictures in docs/screenshots (the browser tests take them)
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/system/test_dashboard.py

clean:  ## remove the venv, caches and build output (not var/, which holds local schedules)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist
