"""Uncaught errors never show a stack trace; a database outage answers 503 with a retry hint."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _outage(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


def _bug(*args, **kwargs):
    raise ZeroDivisionError("a bug, not an outage")


@pytest.fixture
def client_no_raise(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="AE"))
    return client


def test_a_database_outage_in_the_inbox_is_a_503_page_that_retries(client_no_raise, monkeypatch):
    monkeypatch.setattr("dashboards.views.selectors.signal_catalog", _outage)

    response = client_no_raise.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "The database is briefly unavailable" in body
    for leak in ("Traceback", "OperationalError", "5432"):
        assert leak not in body


def test_a_database_outage_in_the_api_is_a_503_json_detail(client_no_raise, monkeypatch):
    monkeypatch.setattr("routing.api.eqls_visible", _outage)

    response = client_no_raise.get("/api/eqls/")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is briefly unavailable. Nothing was changed; try again in a few seconds."
    }


def test_any_other_error_is_a_plain_500_without_a_trace(client_no_raise, monkeypatch):
    monkeypatch.setattr("dashboards.views.selectors.signal_catalog", _bug)

    response = client_no_raise.get("/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    for leak in ("Traceback", "ZeroDivisionError"):
        assert leak not in body
