# Two commands do all the set-up: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://expansion:expansion@127.0.0.1:5432/expansion
REDIS_URL ?= redis://127.0.0.1:6379
export DJANGO_ALLOW_ASYNC_UNSAFE := true

.PHONY: install run demo test test-sqlite test-postgres lint audit format services serve bench clean

install: .venv/.installed

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	$(PY) -c "import plotly.offline as p, pathlib; pathlib.Path('static/js/plotly.min.js').write_text(p.get_plotlyjs())"
	touch $@

## The product on its embedded default: SQLite, a filesystem broker, a worker with the hourly beat.
## Debug mode (and its development key) only here; settings default to DEBUG off.
run: export DJANGO_DEBUG ?= true
run: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py score
	@echo "Serving http://$(HOST):$(PORT)/  (demo logins were printed by seed_demo; see README)"
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  .venv/bin/celery -A expansion worker --beat --scheduler django_celery_beat.schedulers:DatabaseScheduler \
	    --concurrency 2 --without-mingle --without-gossip --loglevel WARNING \
	    --schedule var/celerybeat-schedule & worker=$$!; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	DJANGO_DEBUG=true .venv/bin/lint-imports

## bandit on the product code and pip-audit on the environment; waivers need a reason (scripts/security.py).
audit: install
	$(PY) scripts/security.py

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

services:
	scripts/services.sh start

## The production stack (gunicorn, workers, beat) on this machine against PostgreSQL and Redis.
serve: install
	scripts/serve.sh

## Lint and static security checks, then the suite on SQLite (with the browser tests), then on
## PostgreSQL + Redis + a Celery worker.
test: lint audit services test-sqlite test-postgres

# Browser tests (live server + Chromium) run in their own session: a live server on in-memory SQLite
# does not mix with the rest of the suite's transactions. The SQLite half leaves out (deselects) the
# tests for PostgreSQL and a real Celery worker, which the PostgreSQL half runs. With CI=true a test
# that still skips fails the run (tests/no_silent_skips.py); -rs lists the skips otherwise.
test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL EXPANSION_VAR_DIR=$$(mktemp -d) $(PY) -m pytest -q -rs \
	  -m "not browser and not postgres and not celery_worker"
	env -u DATABASE_URL -u CELERY_BROKER_URL EXPANSION_VAR_DIR=$$(mktemp -d) $(PY) -m pytest -q -rs -m browser

# The PostgreSQL half runs every test that touches the database (and those marked postgres or
# celery_worker); pure tests give the same answer on any database, so only the SQLite half runs them.
test-postgres: install
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL)/0 CELERY_RESULT_BACKEND=$(REDIS_URL)/1 \
	  EXPANSION_VAR_DIR=$$(mktemp -d) $(PY) -m pytest -q -rs -m "not browser" --database-tests-only

bench: install
	@echo "see bench/README in docs/performance.md"

clean:
	rm -rf var staticfiles test-artifacts
