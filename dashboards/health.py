"""Liveness and readiness for load balancers and process supervisors."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

#: Readiness fails when the last completed scoring pass is older than this (the job runs hourly).
MAX_PASS_AGE = dt.timedelta(hours=2)


def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return "ok"


def _check_broker() -> str:
    from expansion.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_last_pass() -> tuple[str, str | None]:
    from scoring.models import PassStatus, ScoringPass

    last = ScoringPass.objects.filter(status=PassStatus.COMPLETED).order_by("-finished_at").first()
    if last is None or last.finished_at is None:
        return "no completed scoring pass yet", None
    age = timezone.now() - last.finished_at
    state = "ok" if age <= MAX_PASS_AGE else f"last completed pass is {age.total_seconds() / 3600:.1f} h old"
    return state, last.finished_at.isoformat()


def readiness(request: HttpRequest) -> JsonResponse:
    """Database, broker and the age of the last completed scoring pass; 503 when any is not ok."""
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure means not ready: report it, never a stack trace
            checks[name] = f"error: {type(exc).__name__}"
    last_pass_at = None
    if checks["database"] == "ok":
        try:
            checks["scoring"], last_pass_at = _check_last_pass()
        except Exception as exc:  # the database went away since its check (the broker's takes seconds)
            checks["database"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": checks,
        "last_pass_at": last_pass_at,
        "debug": settings.DEBUG,
    }
    return JsonResponse(body, status=200 if ok else 503)
