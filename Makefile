# Two commands: `make run` (set up and start the shop: web + GPU worker) and `make test`.
# `make prod`: the production profile from the environment (README.md, Deploying).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run prod test lint format bench faults load clean

$(VENV)/.installed: requirements.txt requirements-web.txt requirements-worker.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) scripts/run.sh

# Checks the production settings (refuses to start if they fail), migrates, collects static files,
# then runs gunicorn (gunicorn.conf.py), the GPU worker and the web cluster's worker.
prod: $(VENV)/.installed
	PORT=$(PORT) scripts/prod.sh

# The suite runs on PYTEST_WORKERS pytest-xdist workers (default 2; `make test PYTEST_WORKERS=0` runs it
# serially, in one process); PYTEST_ARGS adds pytest options (`PYTEST_ARGS="-k cart -x"`).
PYTEST_WORKERS ?= 2
test: $(VENV)/.installed
	@if [ -x /usr/bin/chromium ]; then echo "Chromium found at /usr/bin/chromium: browser tests will run."; \
	else echo "NOTE: /usr/bin/chromium is absent: the browser tests are SKIPPED (apt-get install -y chromium)."; fi
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	# The django-oscar host (tests/hosts/oscar): the plugin in a second shop, under its own settings.
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/hosts/oscar --ds tests.hosts.oscar.settings $(OSCAR_PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Per model preset, at 512 px (every preset's size) with each preset's default steps and guidance.
BENCH_PRESETS ?= sd21,sd21-base,sd-turbo
bench: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py bench_generation --arch tiny --preset $(BENCH_PRESETS) --size 512 --batch 1,2,4
	DEBUG=1 $(PY) manage.py bench_generation --end-to-end --arch tiny --preset $(BENCH_PRESETS) --size 512

# The fault-injection suite (README.md, docs/RELIABILITY.md): the real GPU worker on a throwaway
# PostgreSQL database (DATABASE_URL's server) with the ORM broker and its own redis-server; writes
# docs/RELIABILITY.md, exits 1 when a case fails.
faults: $(VENV)/.installed
	$(PY) scripts/faults.py --broker orm,redis --out docs/RELIABILITY.md

# The loopback load test (docs/SCALING.md): gunicorn + the GPU worker on a throwaway PostgreSQL database,
# locust at 50, 100 and 200 customers, then the reconciliation; writes docs/SCALING.md and docs/scaling.png.
# Exit 1 on any 5xx or lost/duplicated request. LOAD_ARGS="--levels 20 --duration 20" for a quick run.
load: $(VENV)/.installed
	$(PY) scripts/load.py $(LOAD_ARGS)

clean:
	rm -rf var/test.sqlite3* test-artifacts .pytest_cache
