# The one task runner. People and CI call exactly these targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# uv installs from the same pins as pip would, several times faster (it fetches in parallel);
# it comes from PyPI through the venv's own pip, so Python is all a machine needs.
UV := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet --python $(PY) --link-mode copy -c constraints.txt
# What `make run` needs (the runtime dependencies, the collector in collector/ among them: uv
# installs it editable from that path, per [tool.uv.sources]), and on top of it what `make test`
# and `make lint` need (the dev extra: test runners, linters, browser driver, compose binary...).
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
# The JavaScript linters (ESLint, TypeScript's checker) for the browser modules: pinned npm
# packages, installed for `make lint` / `make test` only (`make run` needs no Node).
JSLINT := tools/jslint
JSLINT_STAMP := $(JSLINT)/node_modules/.installed
# Python that `make lint` checks: OneHub, its tests and benchmarks, and the collector's own.
PY_SOURCES := src tests benchmarks collector/src collector/tests

.PHONY: run test lint gen bench setup machine clean demo

$(RUNTIME_STAMP): pyproject.toml collector/pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt uv
	$(UV_INSTALL) -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(UV_INSTALL) -e '.[dev]'
	touch $@

$(JSLINT_STAMP): $(JSLINT)/package.json $(JSLINT)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run python3 scripts/setup_test_machine.py"; exit 1; }
	cd $(JSLINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(DEV_STAMP)

run: $(RUNTIME_STAMP)
	$(VENV)/bin/onehub serve

# Demo data (people, topics, a week of messages) for the server `make run` started.
demo: $(RUNTIME_STAMP)
	$(VENV)/bin/onehub demo

# The Debian packages the tests and benchmarks run (Chromium, nginx, Prometheus, openssl, wrk)
# and PostgreSQL up; silent when the machine is ready.
machine:
	@$(PYTHON) scripts/setup_test_machine.py

test: machine setup lint
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadgroup

lint: setup $(JSLINT_STAMP)
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	npm --prefix $(JSLINT) run --silent lint

gen: setup
	$(PY) scripts/gen_protos.py

bench: machine setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache $(JSLINT)/node_modules

# Production layout with Docker Compose (deploy/, docs/deploy.md): infrastructure first (updb),
# then the application (up). Both stacks share the external network onehubnetwork.
COMPOSE ?= docker compose
DB_COMPOSE := $(COMPOSE) -f deploy/db-docker-compose.yml
APP_COMPOSE := $(COMPOSE) -f deploy/docker-compose.yml

.PHONY: updb dblogs up logs down

updb:
	docker network inspect onehubnetwork >/dev/null 2>&1 || docker network create onehubnetwork
	$(DB_COMPOSE) up -d

dblogs:
	$(DB_COMPOSE) logs -f --tail 100

up:
	$(APP_COMPOSE) up -d --build

logs:
	$(APP_COMPOSE) logs -f --tail 100

# Stops both stacks; data stays in their volumes.
down:
	$(APP_COMPOSE) down --remove-orphans
	$(DB_COMPOSE) down --remove-orphans
