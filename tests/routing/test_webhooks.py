"""Outbound webhooks for CRMs: the contract's EQL record, signed the Standard Webhooks way (and with the
deprecated X-EQL-Signature), retried with backoff until the endpoint's max_attempts, then marked failed.
The receiver side of each test verifies with the standardwebhooks package, as a CRM would."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import importlib
import json
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from expansion.models import Role
from routing.delivery import webhook_send
from routing.models import WebhookDelivery, WebhookEndpoint
from routing.services import eql_transition, eqls_announce
from routing.webhook_signing import signature_headers
from tests.contract import CONTRACT_KEYS
from tests.factories import AccountFactory, EQLFactory, UserFactory
from tests.routing.test_notifications import CLOSED_PORT_URL, local_server

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"s3cret-shared-with-the-crm-32byte").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-thirty-two-byte").decode()
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings):
    """These tests' CRMs listen on 127.0.0.1, which the URL guard refuses unless allowed."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@dataclass
class FakeRetry:
    """Stands in for the Celery task: records what would be re-queued."""

    calls: list[tuple[tuple, dict]] = field(default_factory=list)

    def apply_async(self, args, **options):
        self.calls.append((args, options))


@pytest.fixture
def ae():
    return UserFactory(role=Role.AE, email="ae@example.com")


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, email="csm@example.com")


@pytest.fixture
def eql(ae, csm):
    account = AccountFactory(account_id="ACC-WH", name="Webhook Co", ae=ae, csm=csm)
    return EQLFactory(
        account=account,
        owner=ae,
        csm=csm,
        triggered_signals=[{"signal": "seat_utilization", "value": 0.93, "threshold": 0.9, "points": 40}],
    )


def test_a_transition_posts_the_signed_eql_record(eql, ae, django_capture_on_commit_callbacks):
    # given
    with local_server() as crm:
        endpoint = WebhookEndpoint.objects.create(name="CRM", url=crm.url, secret=SECRET)

        # when
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="contacted", note="emailed the admin")

    # then: one delivery, sent on the first attempt
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.eql_id, delivery.event, delivery.status, delivery.attempts) == (
        endpoint,
        eql.pk,
        "eql.contacted",
        "sent",
        1,
    )
    assert delivery.sent_at is not None

    # and the CRM got the contract's record
    (request,) = crm.requests
    payload = json.loads(request.body)
    assert payload == delivery.payload
    assert payload["event"] == "eql.contacted"
    record = payload["eql"]
    assert sorted(record) == sorted(CONTRACT_KEYS)
    assert (record["id"], record["account_id"], record["account_name"], record["status"]) == (
        eql.pk,
        "ACC-WH",
        "Webhook Co",
        "contacted",
    )
    assert (record["owner_email"], record["csm_email"]) == ("ae@example.com", "csm@example.com")
    assert record["triggered_signals"] == [
        {"signal": "seat_utilization", "value": 0.93, "threshold": 0.9, "points": 40}
    ]
    assert request.headers["content-type"] == "application/json"

    # and a Standard Webhooks receiver verifies it: the delivery's id, this attempt's time, one signature
    assert Webhook(SECRET).verify(request.body, request.headers) == payload
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert request.headers["webhook-signature"].count("v1,") == 1

    # and the deprecated X-EQL-Signature still carries the body's HMAC under the same key
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = "sha256=" + hmac.new(key, request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-eql-signature"], expected)


def _one_request(eql, ae, django_capture_on_commit_callbacks, **endpoint):
    with local_server() as crm:
        WebhookEndpoint.objects.create(name="CRM", url=crm.url, **endpoint)
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    (request,) = crm.requests
    return request


def test_a_wrong_secret_or_a_changed_body_or_id_does_not_verify(eql, ae, django_capture_on_commit_callbacks):
    # given
    request = _one_request(eql, ae, django_capture_on_commit_callbacks, secret=SECRET)
    assert Webhook(SECRET).verify(request.body, request.headers)

    # then
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(OTHER_SECRET).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(request.body + b" ", request.headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(request.body, {**request.headers, "webhook-id": "msg_someone-else"})


def _delivery_clock(monkeypatch, now: dt.datetime) -> None:
    """The sender's clock reads ``now`` (the rest of Django keeps the real one)."""
    monkeypatch.setattr("routing.delivery.timezone", SimpleNamespace(now=lambda: now))


def test_a_request_replayed_after_the_tolerance_is_refused_by_the_receiver(
    eql, ae, monkeypatch, django_capture_on_commit_callbacks
):
    # given: the request was signed 6 minutes ago (a captured request, replayed now)
    signed_at = timezone.now() - dt.timedelta(minutes=6)
    _delivery_clock(monkeypatch, signed_at)
    request = _one_request(eql, ae, django_capture_on_commit_callbacks, secret=SECRET)

    # then: its signature is right, but it is too old (5-minute tolerance)
    assert request.headers["webhook-timestamp"] == str(int(signed_at.timestamp()))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(request.body, request.headers)
    # and moving the timestamp forward breaks the signature
    fresh = {**request.headers, "webhook-timestamp": str(int(timezone.now().timestamp()))}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(request.body, fresh)


def test_retries_keep_the_webhook_id_and_sign_each_attempts_time(eql, monkeypatch):
    # given: a CRM that fails the first attempt's request and accepts the second
    first_at = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=90)
    _delivery_clock(monkeypatch, first_at)
    with local_server(status=500) as failing, local_server() as crm:
        endpoint = WebhookEndpoint.objects.create(name="CRM", url=failing.url, secret=SECRET)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, eql=eql, event="eql.updated", payload={})

        # when: the first attempt fails; the retry goes to the (now fixed) URL
        assert webhook_send(webhook_delivery_id=delivery.pk, retry=FakeRetry()) == "pending"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=crm.url)
        _delivery_clock(monkeypatch, first_at + dt.timedelta(seconds=60))
        assert webhook_send(webhook_delivery_id=delivery.pk, retry=FakeRetry()) == "sent"

    # then: one webhook-id for both attempts, each attempt's own timestamp, both verify
    (first,), (second,) = failing.requests, crm.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert [first.headers["webhook-timestamp"], second.headers["webhook-timestamp"]] == [
        str(int(first_at.timestamp())),
        str(int(first_at.timestamp()) + 60),
    ]
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    for request in (first, second):
        assert Webhook(SECRET).verify(request.body, request.headers) == {}


def test_each_delivery_has_its_own_webhook_id(eql, ae, django_capture_on_commit_callbacks):
    # given
    with local_server() as first, local_server() as second:
        WebhookEndpoint.objects.create(name="CRM", url=first.url, secret=SECRET)
        WebhookEndpoint.objects.create(name="Warehouse", url=second.url, secret=OTHER_SECRET)

        # when
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="contacted")
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="call_booked")

    # then
    ids = [r.headers["webhook-id"] for r in first.requests + second.requests]
    assert len(ids) == len(set(ids)) == 4
    assert sorted(ids) == sorted(WebhookDelivery.objects.values_list("message_id", flat=True))


def test_during_a_rotation_both_secrets_verify(eql, ae, django_capture_on_commit_callbacks):
    # given: the endpoint's secret was rotated; the old one is still active
    request = _one_request(
        eql, ae, django_capture_on_commit_callbacks, secret=OTHER_SECRET, previous_secret=SECRET
    )

    # then: two space-separated v1 signatures; a receiver with either secret accepts
    assert re.fullmatch(r"v1,\S+ v1,\S+", request.headers["webhook-signature"])
    assert Webhook(SECRET).verify(request.body, request.headers)
    assert Webhook(OTHER_SECRET).verify(request.body, request.headers)
    # and the deprecated header is signed with the current secret
    key = base64.b64decode(OTHER_SECRET.removeprefix("whsec_"))
    assert request.headers["x-eql-signature"] == "sha256=" + hmac.new(key, request.body, "sha256").hexdigest()


def test_after_retiring_the_previous_secret_it_no_longer_verifies(
    eql, ae, django_capture_on_commit_callbacks
):
    # given
    request = _one_request(
        eql, ae, django_capture_on_commit_callbacks, secret=OTHER_SECRET, previous_secret=""
    )

    # then
    assert Webhook(OTHER_SECRET).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("created", "changed", "event"),
    [((True,), (), "eql.created"), ((), (True,), "eql.updated")],
)
def test_announcing_queues_created_and_updated_events(
    eql, created, changed, event, django_capture_on_commit_callbacks
):
    # given
    with local_server() as crm:
        WebhookEndpoint.objects.create(name="CRM", url=crm.url, secret=SECRET)

        # when
        with django_capture_on_commit_callbacks(execute=True):
            eqls_announce(
                created_ids=(eql.pk,) if created else (),
                changed_ids=(eql.pk,) if changed else (),
                upgraded_ids=(),
            )

    # then
    assert [json.loads(r.body)["event"] for r in crm.requests] == [event]
    assert list(WebhookDelivery.objects.values_list("event", "status")) == [(event, "sent")]


def test_only_active_endpoints_get_deliveries(eql, ae, django_capture_on_commit_callbacks):
    # given
    with local_server() as first, local_server() as second:
        WebhookEndpoint.objects.create(name="CRM", url=first.url, secret=SECRET)
        WebhookEndpoint.objects.create(name="Old CRM", url=second.url, secret=SECRET, active=False)

        # when
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="call_booked")

    # then
    assert (len(first.requests), len(second.requests)) == (1, 0)
    assert list(WebhookDelivery.objects.values_list("endpoint__name", flat=True)) == ["CRM"]


def test_a_failing_endpoint_is_retried_with_backoff_until_max_attempts(
    eql, django_capture_on_commit_callbacks
):
    # given: nothing listens on the endpoint's port
    endpoint = WebhookEndpoint.objects.create(name="Down", url=CLOSED_PORT_URL, secret=SECRET, max_attempts=3)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, eql=eql, event="eql.updated", payload={"x": 1}
    )
    retry = FakeRetry()

    # when: the worker runs the task, then each queued retry
    results = []
    for _ in range(endpoint.max_attempts):
        with django_capture_on_commit_callbacks(execute=True):
            results.append(webhook_send(webhook_delivery_id=delivery.pk, retry=retry))

    # then
    delivery.refresh_from_db()
    assert results == ["pending", "pending", "failed"]
    assert retry.calls == [((delivery.pk,), {"countdown": 30}), ((delivery.pk,), {"countdown": 60})]
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("failed", 3, None)
    assert delivery.last_error.startswith("URLError:")
    assert "refused" in delivery.last_error.lower()

    # and a late duplicate does not try again
    assert webhook_send(webhook_delivery_id=delivery.pk, retry=retry) == "failed"
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert len(retry.calls) == 2


def test_an_error_status_from_the_endpoint_is_a_failed_attempt(
    eql, caplog, django_capture_on_commit_callbacks
):
    # given
    caplog.set_level("INFO", logger="routing.delivery")
    with local_server(status=500) as crm:
        endpoint = WebhookEndpoint.objects.create(name="Flaky", url=crm.url, secret=SECRET)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, eql=eql, event="eql.updated", payload={})
        retry = FakeRetry()

        # when
        with django_capture_on_commit_callbacks(execute=True):
            result = webhook_send(webhook_delivery_id=delivery.pk, retry=retry)

    # then
    delivery.refresh_from_db()
    assert len(crm.requests) == 1
    assert result == "pending"
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error.startswith("HTTPError: HTTP Error 500")
    assert retry.calls == [((delivery.pk,), {"countdown": 30})]
    [line] = [r.getMessage() for r in caplog.records if r.name == "routing.delivery"]
    assert re.match(
        rf"webhook delivery={delivery.pk} endpoint={endpoint.pk} attempt=1 status=pending seconds=\d+\.\d\d "
        r"error=HTTPError: HTTP Error 500",
        line,
    )


def test_the_task_retries_a_down_endpoint_then_marks_it_failed(eql, ae, django_capture_on_commit_callbacks):
    # given: tasks run inline, so each queued retry runs at once
    WebhookEndpoint.objects.create(name="Down", url=CLOSED_PORT_URL, secret=SECRET, max_attempts=4)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        eql_transition(eql_id=eql.pk, user=ae, event="contacted")

    # then: the EQL moved; the webhook gave up after its attempts
    eql.refresh_from_db()
    assert eql.status == "contacted"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.attempts) == ("eql.contacted", "failed", 4)


def test_upgrading_keeps_the_legacy_signature_receivers_already_verify(eql):
    # given: an endpoint from before Standard Webhooks, with a plain-text secret
    migration = importlib.import_module("routing.migrations.0005_webhook_signing")
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/", secret=SECRET)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret="s3cret-shared-with-the-crm")

    # when
    migration.forwards(django_apps, None)

    # then: a whsec_ secret with the same key bytes, so X-EQL-Signature is unchanged for the receiver
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_czNjcmV0LXNoYXJlZC13aXRoLXRoZS1jcm0="
    body = b'{"event": "eql.updated"}'
    headers = signature_headers(
        message_id="msg_1", timestamp=timezone.now(), body=body, secrets=endpoint.signing_secrets()
    )
    old_receiver = hmac.new(b"s3cret-shared-with-the-crm", body, hashlib.sha256).hexdigest()
    assert headers["X-EQL-Signature"] == "sha256=" + old_receiver

    # and running it again leaves a whsec_ secret alone; going back restores the plain text
    migration.forwards(django_apps, None)
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_czNjcmV0LXNoYXJlZC13aXRoLXRoZS1jcm0="
    migration.backwards(django_apps, None)
    endpoint.refresh_from_db()
    assert endpoint.secret == "s3cret-shared-with-the-crm"
