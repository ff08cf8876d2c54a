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
## Debug mode off, as in production: the product's own 404 and 500 pages, and whitenoise serving the
## collected static files gzip-compressed (collected again only when a static file changed). Its keys
## are per machine under var/ (like `make serve`). `make run DJANGO_DEBUG=true` for Django's debug pages.
run: export DJANGO_DEBUG ?= false
run: export DJANGO_HTTPS ?= false
run: install
	@set -e; \
	if [ "$$DJANGO_DEBUG" != true ]; then \
	  mkdir -p var; \
	  if [ -z "$${DJANGO_SECRET_KEY:-}" ]; then \
	    [ -f var/secret_key ] || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key; \
	    export DJANGO_SECRET_KEY=$$(cat var/secret_key); \
	  fi; \
	  if [ -z "$${ATTRIBUTION_CHAIN_KEY:-}" ]; then \
	    if [ ! -f var/attribution_chain_key ]; then \
	      if [ -f var/expansion.sqlite3 ]; then \
	        echo "Keeping the split-credit log of var/expansion.sqlite3 (written in debug mode) verifiable: its key goes to var/attribution_chain_key"; \
	        env -u DJANGO_SECRET_KEY DJANGO_DEBUG=true $(PY) -c "import expansion.settings as s; print(s.ATTRIBUTION_CHAIN_KEY)" > var/attribution_chain_key; \
	      else \
	        $(PY) -c "import secrets; print(secrets.token_hex(32))" > var/attribution_chain_key; \
	      fi; \
	    fi; \
	    export ATTRIBUTION_CHAIN_KEY=$$(cat var/attribution_chain_key); \
	  fi; \
	  if [ ! -f staticfiles/staticfiles.json ] || [ -n "$$(find static pyproject.toml -newer staticfiles/staticfiles.json -print -quit)" ]; then \
	    echo "Collecting and compressing the static files"; \
	    $(PY) manage.py collectstatic --noinput --clear -v0; \
	  fi; \
	fi; \
	$(PY) manage.py migrate --noinput -v0; \
	$(PY) manage.py seed_demo --if-empty; \
	$(PY) manage.py score; \
	echo "Serving http://$(HOST):$(PORT)/  (demo logins were printed by seed_demo; see README)"; \
	trap 'kill $$worker 2>/dev/null || true' EXIT INT TERM; \
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

test-postgres: install
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL)/0 CELERY_RESULT_BACKEND=$(REDIS_URL)/1 \
	  EXPANSION_VAR_DIR=$$(mktemp -d) $(PY) -m pytest -q -rs -m "not browser"

bench: install
	@echo "see bench/README in docs/performance.md"

clean:
	rm -rf var staticfiles test-artifacts
