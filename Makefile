# The one command surface. Every workflow is a target; CI calls `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
WORKERS ?= 2

.PHONY: help install run test lint check-deps cfn-lint unit integration e2e bench bench-api bench-sweep \
        sizes build build-check deploy sam-validate fuzz localstack-test clean browser \
        console-deploy bench-startup bench-pbo bench-sim bench-rules bench-candles bench-retry \
        bench-warm

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[engine,client,dev]"
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with all extras

run: $(STAMP) ## serve the API on http://localhost:$(PORT) with the embedded AWS emulation
	PORT=$(PORT) WORKERS=$(WORKERS) DATA_DIRS="$${DATA_DIRS:+$$DATA_DIRS:}data" \
	    $(BIN)/python -m infra.local.stack  # ./data: where `backtest data fetch` writes

test: $(STAMP) lint check-deps cfn-lint browser ## everything CI runs: lint, rules, template, all suites
	$(BIN)/python -m pytest -n 2 tests

# The browser tests (tests/live/test_console_browser.py) drive the system Chromium; without
# one they are skipped with that reason. Installed here when apt-get is usable (root).
browser: ## the system Chromium of the browser tests (apt-get install chromium when missing)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (apt-get) for the browser tests"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	      echo "apt-get could not install chromium: the browser tests will be skipped"; \
	  else echo "no chromium and no usable apt-get: the browser tests will be skipped"; fi; }

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

check-deps: $(STAMP) ## the dependency rule (layers and functions)
	$(BIN)/python -m infra.check_deps

cfn-lint: $(STAMP) ## cfn-lint on template.yaml and on its offline SAM transform
	$(BIN)/python -m infra.lint_template template.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit
integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration
e2e: $(STAMP) ## end-to-end over HTTP (API_URL + AWS_ENDPOINT_URL point it at another stack)
	$(BIN)/python -m pytest tests/e2e

bench: $(STAMP) ## engine throughput figures (uses ../shared/data when present)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_sim.py

bench-sim: $(STAMP) ## simulator: vectorised vs per-row loop (1M bars) and a 20-symbol shared portfolio
	$(BIN)/python bench/bench_sim.py

bench-api: $(STAMP) ## load figures against the local stack
	$(BIN)/python bench/bench_api.py

bench-startup: $(STAMP) ## how long `make run` takes to answer, first submit/status latency warm vs cold (5 starts each)
	$(BIN)/python bench/bench_startup.py 5

bench-pbo: $(STAMP) ## cost of the probability of backtest overfitting (1,000 combinations × 8,760 bars)
	$(BIN)/python bench/bench_pbo.py

bench-rules: $(STAMP) ## rule documents: masks on 1M bars, the 9,801-combination SMA-cross sweep
	$(BIN)/python bench/bench_rules.py

bench-retry: $(STAMP) ## a killed worker's single-symbol retry with the template's lease and reaper (kill → claimed → completed)
	$(BIN)/python bench/bench_retry.py

bench-warm: $(STAMP) ## what a warm worker's candle and indicator caches save (moto S3 in-process)
	$(BIN)/python bench/bench_warm.py

bench-candles: $(STAMP) ## GET /api/candles: cold and warm latency, points and bytes (local stack)
	$(BIN)/python bench/bench_candles.py

bench-sweep: $(STAMP) ## sweep and fan-out figures (WORKERS=1 vs 2, Step Functions overhead)
	$(BIN)/python bench/bench_sweep.py

sizes: $(STAMP) ## import-time and package-size budgets of the functions
	$(BIN)/python bench/budgets.py

# sam build (BuildMethod python3.12) needs a python3.12 on PATH: pyenv's when there is one.
PY312_BIN ?= $(shell ls -d $$HOME/.pyenv/versions/3.12*/bin 2>/dev/null | tail -1)
SAM := PATH="$(if $(PY312_BIN),$(PY312_BIN):)$$PATH" SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam

.venv-sam/bin/sam:
	$(PY) -m venv .venv-sam && .venv-sam/bin/pip install -q aws-sam-cli

sam-validate: .venv-sam/bin/sam ## SAM CLI (own venv: it pins its own boto3) validate --lint
	$(SAM) validate --lint

build: sam-validate ## sam build (needs SAM CLI)
	$(SAM) build

build-check: $(STAMP) sam-validate ## sam validate --lint + sam build (with the XRayLayer), then the size budgets of the build
	$(SAM) build --parameter-overrides TracingMode=Active
	$(BIN)/python bench/budgets.py

fuzz: $(STAMP) ## schemathesis, all checks, ~3 min against a local stack on free ports
	$(BIN)/python -m infra.fuzz --max-time $(or $(FUZZ_SECONDS),170)

deploy: build ## sam deploy --guided
	$(SAM) deploy --guided

console-deploy: $(STAMP) ## upload console/ (+ config.js from the outputs) to a deployed stack: STACK=name
	$(BIN)/python -m infra.console_deploy --stack $(STACK)

localstack-test: $(STAMP) ## deploy to a LocalStack you run in Docker, then run the e2e suite against it
	bash infra/local/localstack.sh

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis
