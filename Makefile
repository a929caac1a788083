# Two commands on a fresh machine with Python >= 3.11 and make:
#   make report   set up .venv, load the sample data into the warehouse, write the reports under reports/
#   make test     set up .venv (and Debian's chromium for the browser tests), then lint and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The FinOps Foundation's FOCUS validator pins numpy<2 and pandas<3, so it lives in its own venv.
# multimethod<2 and pyarrow<21: the versions its pins resolve to otherwise fail to import (pandera
# needs multimethod.overload; pyarrow 21+ needs numpy 2).
FOCUS_VENV := .venv-focus
FOCUS_STAMP := $(FOCUS_VENV)/.installed
# Browser tests drive Debian's chromium through Playwright (Playwright's own browser downloads are not used).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WAREHOUSE := data/warehouse.duckdb
PRICES := data/prices/overrides.yaml
SAMPLE := data/sample/requests.parquet data/sample/focus_billing.csv data/sample/otel_spans.json

.PHONY: report test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks,dask]'
	touch $(STAMP)

$(FOCUS_STAMP):
	test -x $(FOCUS_VENV)/bin/python || $(PYTHON) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FOCUS_VENV)/bin/python -m pip install --quiet 'focus-validator==1.0.0' 'multimethod<2' 'pyarrow<21'
	touch $(FOCUS_STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The sample's request log (7.8 MB) is generated, not kept in git: seed 0 makes it byte for byte, and
# MANIFEST.json, focus_billing.csv and otel_spans.json (kept) come out identical.
data/sample/requests.parquet: $(STAMP)
	$(BIN)/forecast sample-data --out data/sample

# Loading the sample twice adds nothing (loads are idempotent); each report goes to a new folder.
report: $(STAMP) data/sample/requests.parquet
	$(BIN)/forecast ingest $(SAMPLE) --warehouse $(WAREHOUSE) --prices $(PRICES)
	$(BIN)/forecast report monthly --warehouse $(WAREHOUSE) --budgets data/budgets.yaml
	$(BIN)/forecast report estimate data/workflows/support_triage.yaml --prices $(PRICES)
	$(BIN)/forecast report roi data/cases/support_triage.yaml --prices $(PRICES)
	$(BIN)/forecast report self-hosting --prices $(PRICES)
	@echo "reports are under reports/ (open the .html files in a browser; they need no network)"

test: $(STAMP) $(FOCUS_STAMP) $(CHROMIUM) data/sample/requests.parquet
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	FORECAST_FOCUS_VALIDATOR=$(CURDIR)/$(FOCUS_VENV)/bin/focus-validator $(BIN)/python -m pytest -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The quick benchmarks; bench_warehouse.py (10M rows, minutes) and bench_forecast_*.py (in .venv-bench,
# see benchmarks/setup_bench_env.sh) are run by hand, as docs/forecasting.md and the README say.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cli_startup.py
	$(BIN)/python benchmarks/bench_montecarlo.py
	$(BIN)/python benchmarks/gpu_calibration.py
	$(BIN)/python benchmarks/bench_whatif.py

clean:
	rm -rf $(VENV) $(FOCUS_VENV) .pytest_cache .ruff_cache .hypothesis
