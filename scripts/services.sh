#!/usr/bin/env bash
# Starts (or stops) the services the PostgreSQL/Redis half of the test suite and `make serve` need,
# on 127.0.0.1 only. Installs them from Debian packages when they are missing (needs root).
set -euo pipefail

PG_USER=${PG_USER:-expansion}
PG_PASSWORD=${PG_PASSWORD:-expansion}
PG_DB=${PG_DB:-expansion}
REDIS_PORT=${REDIS_PORT:-6379}
RUN_DIR=${RUN_DIR:-/tmp/expansion-services}
mkdir -p "$RUN_DIR"

need_install=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_install+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_install+=(redis-server)
if [ "${WITH_BROWSER:-1}" = 1 ] && [ ! -x /usr/bin/chromium ]; then need_install+=(chromium); fi

install_missing() {
  if [ ${#need_install[@]} -gt 0 ]; then
    echo "services: installing ${need_install[*]} from Debian packages"
    if [ "$(id -u)" != 0 ]; then echo "services: need root to install ${need_install[*]}" >&2; exit 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
  fi
}

pg_version() { ls /usr/lib/postgresql | sort -n | tail -1; }

start_postgres() {
  local v; v=$(pg_version)
  if ! pg_lsclusters -h | grep -q "^$v main"; then pg_createcluster "$v" main >/dev/null; fi
  if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
    pg_ctlcluster "$v" main start -o "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 0.5; done
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 \
    || su postgres -c "createdb -O $PG_USER $PG_DB"
}

start_redis() {
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
      --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log"
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
}

case "${1:-start}" in
  install) install_missing ;;
  start)
    install_missing
    start_postgres
    start_redis
    echo "services: PostgreSQL postgres://$PG_USER:***@127.0.0.1:5432/$PG_DB and Redis redis://127.0.0.1:$REDIS_PORT ready"
    ;;
  stop)
    [ -f "$RUN_DIR/redis.pid" ] && kill "$(cat "$RUN_DIR/redis.pid")" 2>/dev/null || true
    pg_ctlcluster "$(pg_version)" main stop 2>/dev/null || true
    ;;
  *) echo "usage: $0 [install|start|stop]" >&2; exit 2 ;;
esac
