#!/usr/bin/env bash
# The production stack on this machine: PostgreSQL + Redis, gunicorn (DEBUG off, whitenoise static),
# two Celery workers and one beat. Ctrl-C stops the processes it started.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
RUN_DIR=${RUN_DIR:-/tmp/expansion-serve}
mkdir -p "$RUN_DIR" var

scripts/services.sh start
export DATABASE_URL=${DATABASE_URL:-postgres://expansion:expansion@127.0.0.1:5432/expansion}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export CELERY_RESULT_BACKEND=${CELERY_RESULT_BACKEND:-redis://127.0.0.1:6379/1}
export REDIS_CACHE_URL=${REDIS_CACHE_URL:-redis://127.0.0.1:6379/2}
export DJANGO_DEBUG=false DJANGO_HTTPS=false
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
  # A per-machine key kept outside git (var/ is ignored).
  [ -f var/secret_key ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
  DJANGO_SECRET_KEY=$(cat var/secret_key)
  export DJANGO_SECRET_KEY
fi
if [ -z "${ATTRIBUTION_CHAIN_KEY:-}" ]; then
  # The split-credit log's key, per machine and outside git like the secret key.
  [ -f var/attribution_chain_key ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > var/attribution_chain_key
  ATTRIBUTION_CHAIN_KEY=$(cat var/attribution_chain_key)
  export ATTRIBUTION_CHAIN_KEY
fi

PY=.venv/bin/python
$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo --if-empty
$PY manage.py score

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
.venv/bin/celery -A expansion worker --concurrency 2 --without-mingle --without-gossip --loglevel WARNING \
  --logfile "$RUN_DIR/worker.log" & pids+=($!)
.venv/bin/celery -A expansion beat --scheduler django_celery_beat.schedulers:DatabaseScheduler --loglevel WARNING \
  --logfile "$RUN_DIR/beat.log" --pidfile "$RUN_DIR/beat.pid" & pids+=($!)
.venv/bin/gunicorn expansion.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-4}" --timeout 30 \
  --access-logfile "$RUN_DIR/access.log" --error-logfile - & pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://$HOST:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
echo "Production stack on http://$HOST:$PORT/ (readiness: $(curl -s "http://$HOST:$PORT/health/ready"))"
wait
