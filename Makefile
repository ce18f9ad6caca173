# The one task runner. People and CI call exactly these targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint gen bench setup clean demo

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/onehub serve

# Demo data (people, topics, a week of messages) for the server `make run` started.
demo: setup
	$(VENV)/bin/onehub demo

test: setup lint
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

gen: setup
	$(PY) scripts/gen_protos.py

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache

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
