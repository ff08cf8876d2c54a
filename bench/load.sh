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
export ATTRIBUTION_CHAIN_KEY=load-test-only-attribution-key-$$-0123456789abcdef
export API_RATE_LIMIT=100000/hour EXPANSION_VAR_DIR=$RUN/var
export LOAD_USERS_FILE=$RUN/users.txt LOAD_SESSIONS_FILE=$RUN/sessions.txt LOAD_POSTED_FILE=$RUN/posted.txt LOAD_PASSWORD=load-test-2026

build() {
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
}
have=$(su postgres -c "psql -tAqd expansion_load -c 'SELECT count(*) FROM expansion_account'" 2>/dev/null || echo 0)
if [ "${LOAD_REUSE:-0}" = 1 ] && [ "$have" = "$ACCOUNTS" ] && [ -s "$RUN/users.txt" ]; then
  echo "reusing expansion_load ($have accounts; EQLs and activities as the last run left them)"
else
  build
fi
# Everyone starts signed in (browser already open on Monday morning): one session per simulated
# person, made as a sign-in makes it, so the measured minute is queue work rather than a burst of
# 50 password hashes (PBKDF2, about 0.3 s of CPU each by design; measured separately below).
$PY manage.py shell -c "
from django.test import Client
from expansion.models import User
people = list(User.objects.filter(email__in=open('$RUN/users.txt').read().split()))
sessions = []
for i in range(max($USERS * 2, 100)):
    c = Client()
    c.force_login(people[i % len(people)])
    sessions.append(c.cookies['sessionid'].value)
open('$RUN/sessions.txt', 'w').write('\\n'.join(sessions))
"

# The seeding pass queued a notification for each of its thousands of new EQLs; an hourly pass on a
# live base creates a few dozen. Drop that one-off backlog so the worker does not compete with the
# web processes for the minute being measured (the deliveries stay pending in the database).
.venv/bin/celery -A expansion purge -f >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
.venv/bin/celery -A expansion worker --concurrency 1 --without-mingle --without-gossip --loglevel WARNING \
  --logfile "$RUN/worker.log" & pids+=($!)
.venv/bin/gunicorn expansion.wsgi --bind 127.0.0.1:8010 --workers "${WEB_WORKERS:-3}" --timeout 30 \
  --access-logfile /dev/null --error-logfile "$RUN/gunicorn.log" & pids+=($!)
for _ in $(seq 1 60); do curl -fsS http://127.0.0.1:8010/health/live >/dev/null 2>&1 && break; sleep 0.5; done

.venv/bin/locust -f bench/locustfile.py --headless -u "$USERS" -r 10 -t "${SECONDS_RUN}s" \
  --host http://127.0.0.1:8010 --csv "$RUN/load" --only-summary 2>&1 | tail -25

# Signing in, measured on its own: 10 sign-ins one after another on the idle stack.
$PY - <<'PYEOF'
import os, re, statistics, time, requests
email = open(os.environ["LOAD_USERS_FILE"]).read().split()[0]
times = []
for _ in range(10):
    s = requests.Session()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', s.get("http://127.0.0.1:8010/login/").text).group(1)
    t = time.perf_counter()
    r = s.post("http://127.0.0.1:8010/login/", {"username": email, "password": os.environ["LOAD_PASSWORD"], "csrfmiddlewaretoken": token})
    times.append((time.perf_counter() - t) * 1000)
    assert r.ok and r.url.endswith("/"), r.status_code
print(f"sign-in (password check + session), idle stack: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
PYEOF

$PY manage.py shell -c "
from django.db.models import Count
from expansion.models import EQL, OPEN_STATUSES, Activity
dups = EQL.objects.filter(status__in=OPEN_STATUSES).values('account').annotate(n=Count('id')).filter(n__gt=1).count()
posted = [l for l in open('$RUN/posted.txt').read().split() if l]
found = Activity.objects.filter(event='note', note__in=posted).count()
print(f'duplicate open EQLs: {dups}; actions answered 200: {len(posted)}; in the activity log: {found}; lost: {len(posted) - found}')
"
