"""Outbound webhooks for CRMs: the contract's EQL record, signed with HMAC-SHA256 in X-EQL-Signature,
retried with backoff until the endpoint's max_attempts, then marked failed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

import pytest

from expansion.models import Role
from routing.delivery import SIGNATURE_HEADER, sign, webhook_send
from routing.models import WebhookDelivery, WebhookEndpoint
from routing.services import eql_transition, eqls_announce
from tests.contract import CONTRACT_KEYS
from tests.factories import AccountFactory, EQLFactory, UserFactory
from tests.routing.test_notifications import CLOSED_PORT_URL, local_server

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-crm"


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

    # and the signature verifies over the raw body
    header = request.headers[SIGNATURE_HEADER.lower()]
    assert hmac.compare_digest(sign(SECRET, request.body), header)
    assert header == "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()


def test_a_wrong_secret_does_not_verify(eql, ae, django_capture_on_commit_callbacks):
    # given
    with local_server() as crm:
        WebhookEndpoint.objects.create(name="CRM", url=crm.url, secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    (request,) = crm.requests
    header = request.headers[SIGNATURE_HEADER.lower()]

    # then
    assert not hmac.compare_digest(sign("not-the-secret", request.body), header)
    assert not hmac.compare_digest(sign(SECRET, request.body + b" "), header)


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
