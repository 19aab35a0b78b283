# Two commands: `make run` (set up everything and serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
ADMIN_EMAIL ?= admin@example.com
export FLASK_APP := wsgi.py
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: run setup install install-dev install-spark migrate seed admin test test-fast test-browser bench bench-dashboard clean

run: setup  ## set up (venv, install, migrate, demo data, admin, first model) and serve on http://$(HOST):$(PORT)
	@echo "==> Training the first recommendation model (skipped when one is already active)"
	$(BIN)/flask ml train --if-missing || echo "==> First training failed (see above): the shop serves popularity fallbacks until a run succeeds"
	@echo "==> Serving on http://$(HOST):$(PORT) with the training scheduler beside it  (Ctrl-C to stop)"
	@$(BIN)/flask ml scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

setup: install migrate seed admin

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(BIN)/python
	@echo "==> Installing requirements into $(VENV)"
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

# The optional Spark training engine (flask ml train --engine spark; Java 17+ as well): its tests
# need it, `make run` does not.
$(VENV)/.installed-spark: requirements-spark.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-spark.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-spark: $(VENV)/.installed-spark

migrate: install
	@echo "==> Applying database migrations"
	$(BIN)/flask db upgrade

seed: install
	@echo "==> Loading demo data (skipped when the shop already has products)"
	$(BIN)/flask shop seed --if-empty

admin: install
	$(BIN)/flask shop create-admin $(ADMIN_EMAIL) --generate-password --if-none

test: install-dev install-spark  ## the whole suite, slow tests included (what CI runs; the Spark tests skip without Java)
	$(BIN)/pytest

test-fast: install-dev  ## without the slow and browser tests
	$(BIN)/pytest -m "not slow and not browser"

test-browser: install-dev  ## the browser test alone (Debian's Chromium + Playwright)
	$(BIN)/pytest -m browser

bench: install  ## measure, and append the results to BENCHMARKS.md (about 100 minutes on 2 idle cores)
	@if [ -n "$(BENCH_PG_FLAG)" ]; then createdb -h 127.0.0.1 -U postgres sf_bench 2>/dev/null || true; fi
	PYTHONPATH=. $(BIN)/python bench/tracking_overhead.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/recommendation_latency.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/page_profile.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/admin_pages.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/ctr_scoring.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/worker_memory.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/import_throughput.py $(BENCH_PG_FLAG) --train --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/concurrent_ingestion.py $(BENCH_PG_FLAG) --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/page_load.py --record BENCHMARKS.md
	if [ -n "$(BENCH_PG_FLAG)" ]; then PYTHONPATH=. $(BIN)/python bench/page_load.py $(BENCH_PG_FLAG) --record BENCHMARKS.md; fi
	PYTHONPATH=. $(BIN)/python bench/training_scale.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/poisoning.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/dwell_weighting.py --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/search.py $(BENCH_PG_FLAG) --record BENCHMARKS.md
	PYTHONPATH=. $(BIN)/python bench/sessions.py --demo-db --record BENCHMARKS.md
	$(MAKE) bench-dashboard

# PostgreSQL runs of the benchmarks when a server answers (a database whose name contains "bench")
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/sf_bench
BENCH_PG_FLAG := $(shell pg_isready -q -h 127.0.0.1 2>/dev/null && echo --postgres $(BENCH_PG_URL))
BENCH_DB ?= /tmp/storefront-bench-1m.db
bench-dashboard: install  ## the admin dashboard on 1M events (builds the database once, a few minutes)
	@if [ -f $(BENCH_DB) ]; then DATABASE_URL=sqlite:///$(BENCH_DB) $(BIN)/flask db upgrade; else \
	  DATABASE_URL=sqlite:///$(BENCH_DB) $(BIN)/flask db upgrade && \
	  DATABASE_URL=sqlite:///$(BENCH_DB) $(BIN)/flask shop seed --events 1000000 --customers 5000 \
	  --anonymous 5000 --products 3000 --days 180; fi
	PYTHONPATH=. $(BIN)/python bench/dashboard.py --database-url sqlite:///$(BENCH_DB) --record BENCHMARKS.md

clean:
	rm -rf $(VENV) instance/storefront.db* .pytest_cache test-artifacts
