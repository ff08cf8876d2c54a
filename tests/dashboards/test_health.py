"""Liveness and readiness: readiness reports the database, the broker and the age of the last pass."""

import datetime as dt

import pytest
from django.utils import timezone

from scoring.models import PassStatus, ScoringPass


def _pass(hours_ago: float) -> ScoringPass:
    finished = timezone.now() - dt.timedelta(hours=hours_ago)
    return ScoringPass.objects.create(
        as_of=finished, started_at=finished, finished_at=finished, status=PassStatus.COMPLETED
    )


def test_liveness_answers_without_the_database(client):
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_is_unavailable_until_a_pass_has_completed(client):
    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["scoring"] == "no completed scoring pass yet"


@pytest.mark.django_db
def test_readiness_is_ok_with_a_recent_pass(client):
    _pass(hours_ago=0.5)

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "scoring": "ok"}


@pytest.mark.django_db
def test_readiness_fails_when_the_last_pass_is_over_two_hours_old(client):
    _pass(hours_ago=3)

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["scoring"].startswith("last completed pass is 3.0 h old")


@pytest.mark.django_db
def test_readiness_reports_a_database_lost_between_its_checks(client, monkeypatch):
    from django.db import OperationalError

    from dashboards import health

    def gone():
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(health, "_check_last_pass", gone)

    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error: OperationalError"
    assert "scoring" not in body["checks"]
