#!/usr/bin/env bash
# Serves the production stack on 127.0.0.1 (gunicorn, DEBUG off, PostgreSQL, Redis, a Celery worker)
# over a synthetic base of 100,000 accounts, drives 50 simulated AEs and CSMs for 60 s with locust,
# then checks: no duplicate open EQLs, and every action answered 200 is in the activity log.
#   bench/load.sh [ACCOUNTS] [USERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ACCOUNTS=${1:-100000}; USERS=${2:-50}; SECONDS_RUN=${3:-60}
RUN=/tmp/expansion-load; mkdir -p "$RUN"
PY=.venv/bin/python
.venv/bin/python -c "import locust" 2>/dev/null || .venv/bin/pip install -q locust

scripts/services.sh start >/dev/null
export DATABASE_URL=postgres://expansion:expansion@127.0.0.1:5432/expansion_load
export CELERY_BROKER_URL=redis://127.0.0.1:6379/3 CELERY_RESULT_BACKEND=redis://127.0.0.1:6379/4
export REDIS_CACHE_URL=redis://127.0.0.1:6379/5
export DJANGO_SETTINGS_MODULE=expansion.settings DJANGO_DEBUG=false DJANGO_HTTPS=false ALLOWED_HOSTS=127.0.0.1 DJANGO_SECRET_KEY=load-test-only-key-not-secret-$$-0123456789abcdef
export API_RATE_LIMIT=100000/hour EXPANSION_VAR_DIR=$RUN/var
export LOAD_USERS_FILE=$RUN/users.txt LOAD_POSTED_FILE=$RUN/posted.txt LOAD_PASSWORD=load-test-2026

su postgres -c "psql -qc 'DROP DATABASE IF EXISTS expansion_load'" >/dev/null
su postgres -c "createdb -O expansion expansion_load"
$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
echo "building $ACCOUNTS accounts x 40 days x 7 metrics ..."
$PY - "$ACCOUNTS" <<'PYEOF'
import datetime as dt, os, sys
sys.path[:0] = [".", "bench"]
import django
django.setup()
from django.contrib.auth.hashers import make_password
from _synthetic import load, make_base
from expansion.models import User
base = make_base(int(sys.argv[1]), dt.date.today(), 40)
print(load(base, log=lambda *_: None))
User.objects.filter(role__in=["AE", "CSM"]).update(password=make_password(os.environ["LOAD_PASSWORD"]))
PYEOF
$PY manage.py score --json | tr -d '\n' ; echo
$PY manage.py shell -c "
from expansion.models import User, EQL
emails = User.objects.filter(role__in=['AE','CSM'], owned_eqls__isnull=False).distinct().values_list('email', flat=True)
open('$RUN/users.txt','w').write('\n'.join(emails))
print(EQL.objects.count(), 'EQLs;', len(emails), 'people with EQLs')"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
.venv/bin/celery -A expansion worker --concurrency 1 --without-mingle --without-gossip --loglevel WARNING \
  --logfile "$RUN/worker.log" & pids+=($!)
.venv/bin/gunicorn expansion.wsgi --bind 127.0.0.1:8010 --workers "${WEB_WORKERS:-3}" --timeout 30 \
  --access-logfile /dev/null --error-logfile "$RUN/gunicorn.log" & pids+=($!)
for _ in $(seq 1 60); do curl -fsS http://127.0.0.1:8010/health/live >/dev/null 2>&1 && break; sleep 0.5; done

.venv/bin/locust -f bench/locustfile.py --headless -u "$USERS" -r 10 -t "${SECONDS_RUN}s" \
  --host http://127.0.0.1:8010 --csv "$RUN/load" --only-summary 2>&1 | tail -25

$PY manage.py shell -c "
from django.db.models import Count
from expansion.models import EQL, OPEN_STATUSES, Activity
dups = EQL.objects.filter(status__in=OPEN_STATUSES).values('account').annotate(n=Count('id')).filter(n__gt=1).count()
posted = [l for l in open('$RUN/posted.txt').read().split() if l]
found = Activity.objects.filter(event='note', note__in=posted).count()
print(f'duplicate open EQLs: {dups}; actions answered 200: {len(posted)}; in the activity log: {found}; lost: {len(posted) - found}')
"
