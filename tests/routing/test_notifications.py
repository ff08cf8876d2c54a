"""Notifications (domain.md, "Routing"): owner and CSM told at the same moment with the same detail;
email and Slack deliveries are independent, attempt-tracked and retried up to a limit; a failure
never undoes or blocks the EQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from expansion.celery import app as celery_app
from expansion.models import EQL, Role
from routing import services
from routing.delivery import MAX_ATTEMPTS, DeliveryFailed, backoff_seconds, delivery_send
from routing.models import Delivery, Notification
from routing.services import eqls_announce, notify
from routing.tasks import deliver
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "http://127.0.0.1:9/"
SIGNALS = [
    {"signal": "seat_utilization", "value": 0.94, "threshold": 0.9, "points": 40},
    {"signal": "api_rate_approach", "value": 0.88, "threshold": 0.85, "points": 35},
]
ANGLE = "Northwind is using 94% of its 50 seats; shall we plan for the teams still waiting?"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased (HTTP header names are case-insensitive)
    body: bytes


@dataclass
class Recorder:
    url: str
    requests: list[Received] = field(default_factory=list)


@contextmanager
def local_server(status: int = 200) -> Iterator[Recorder]:
    """A threading HTTP server on 127.0.0.1 (a free port) that records every POST and answers ``status``."""
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            recorder.requests.append(Received(self.path, headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class BrokenEmailBackend(BaseEmailBackend):
    """An SMTP server that cannot be reached."""

    def send_messages(self, email_messages):
        raise OSError("SMTP server unreachable")


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SLACK_WEBHOOK_URL = ""
    settings.APP_BASE_URL = "https://eql.example.com"


@pytest.fixture
def ae():
    return UserFactory(role=Role.AE, email="ae@example.com", name="Ana Exec")


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, email="csm@example.com", name="Cy Success")


@pytest.fixture
def eql(ae, csm) -> EQL:
    account = AccountFactory(account_id="ACC-NW", name="Northwind", ae=ae, csm=csm)
    return EQLFactory(
        account=account,
        owner=ae,
        csm=csm,
        score=75,
        primary_signal="seat_utilization",
        triggered_signals=SIGNALS,
        estimated_expansion_arr=Decimal("9600.00"),
        estimate_source="default",
        opening_angle=ANGLE,
    )


def announce_new(eql: EQL, capture) -> None:
    with capture(execute=True):
        eqls_announce(created_ids=(eql.pk,), changed_ids=(), upgraded_ids=())


def statuses() -> list[tuple[str, str, str]]:
    return sorted(
        Delivery.objects.values_list("notification__recipient__email", "channel", "status").order_by()
    )


def test_a_new_eql_notifies_owner_and_csm_at_the_same_moment_with_the_same_detail(
    eql, ae, csm, django_capture_on_commit_callbacks
):
    # when
    announce_new(eql, django_capture_on_commit_callbacks)

    # then
    owner_note, csm_note = (Notification.objects.get(recipient=u) for u in (ae, csm))
    assert owner_note.kind == csm_note.kind == "new_eql"
    assert owner_note.eql_id == csm_note.eql_id == eql.pk
    assert owner_note.created_at == csm_note.created_at
    assert (owner_note.subject, owner_note.body) == (csm_note.subject, csm_note.body)
    assert owner_note.subject == "New EQL: Northwind · seat utilization · score 75"
    assert owner_note.body.splitlines() == [
        "Northwind (ACC-NW), route AE-led",
        "Why now:",
        "- seat_utilization: 0.94 (threshold 0.9, 40 pts)",
        "- api_rate_approach: 0.88 (threshold 0.85, 35 pts)",
        "Worth: contract ARR $48,000, estimated expansion $9,600 (default)",
        f"Opening angle: {ANGLE}",
        f"Open: https://eql.example.com/eqls/{eql.pk}/",
    ]


def test_both_roles_get_the_same_email(eql, django_capture_on_commit_callbacks):
    # when
    announce_new(eql, django_capture_on_commit_callbacks)

    # then
    assert sorted(m.to[0] for m in mail.outbox) == ["ae@example.com", "csm@example.com"]
    assert len({(m.subject, m.body) for m in mail.outbox}) == 1
    assert statuses() == [("ae@example.com", "email", "sent"), ("csm@example.com", "email", "sent")]
    assert set(Delivery.objects.values_list("attempts", "last_error")) == {(1, "")}


def test_a_csm_review_item_goes_to_the_csm_once(csm, django_capture_on_commit_callbacks):
    # given: the CSM owns a CSM review item on their own book
    item = EQLFactory(account=AccountFactory(csm=csm), route="csm_review", owner=csm, csm=csm)

    # when
    announce_new(item, django_capture_on_commit_callbacks)

    # then
    assert list(Notification.objects.values_list("recipient__email", "kind")) == [
        ("csm@example.com", "new_eql")
    ]
    assert [m.to for m in mail.outbox] == [["csm@example.com"]]


def test_an_upgraded_item_tells_both_roles(eql, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        eqls_announce(created_ids=(), changed_ids=(), upgraded_ids=(eql.pk,))

    # then
    assert sorted(Notification.objects.values_list("recipient__email", "kind")) == [
        ("ae@example.com", "eql_changed"),
        ("csm@example.com", "eql_changed"),
    ]
    assert {m.subject for m in mail.outbox} == {"EQL upgraded: Northwind · seat utilization · score 75"}


def test_slack_posts_the_notification_text(eql, settings, django_capture_on_commit_callbacks):
    # given
    with local_server() as slack:
        settings.SLACK_WEBHOOK_URL = slack.url

        # when
        announce_new(eql, django_capture_on_commit_callbacks)

    # then
    assert statuses() == [
        ("ae@example.com", "email", "sent"),
        ("ae@example.com", "slack", "sent"),
        ("csm@example.com", "email", "sent"),
        ("csm@example.com", "slack", "sent"),
    ]
    assert [r.path for r in slack.requests] == ["/hook", "/hook"]
    texts = sorted(json.loads(r.body)["text"] for r in slack.requests)
    subject = "New EQL: Northwind · seat utilization · score 75"
    assert [t.splitlines()[:2] for t in texts] == [
        [f"*{subject}*", "for Ana Exec"],
        [f"*{subject}*", "for Cy Success"],
    ]
    assert all(f"Opening angle: {ANGLE}" in t for t in texts)
    assert {r.headers["content-type"] for r in slack.requests} == {"application/json"}


def test_a_failing_slack_channel_does_not_stop_email(eql, settings, django_capture_on_commit_callbacks):
    # given: nothing listens on port 9
    settings.SLACK_WEBHOOK_URL = CLOSED_PORT_URL

    # when
    announce_new(eql, django_capture_on_commit_callbacks)

    # then: email went out; the Slack attempt is recorded and left pending for the task's retry
    # (tasks run inline in tests, where Celery does not re-run a retry; see test_retries_stop_...)
    assert sorted(m.to[0] for m in mail.outbox) == ["ae@example.com", "csm@example.com"]
    assert statuses() == [
        ("ae@example.com", "email", "sent"),
        ("ae@example.com", "slack", "pending"),
        ("csm@example.com", "email", "sent"),
        ("csm@example.com", "slack", "pending"),
    ]
    for slack in Delivery.objects.filter(channel="slack"):
        assert slack.attempts == 1
        assert slack.last_error.startswith("URLError:")
        assert "refused" in slack.last_error.lower()
        assert slack.sent_at is None
    assert EQL.objects.filter(pk=eql.pk).exists()


def test_an_email_failure_does_not_block_slack(eql, settings, django_capture_on_commit_callbacks):
    # given
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    with local_server() as slack:
        settings.SLACK_WEBHOOK_URL = slack.url

        # when
        announce_new(eql, django_capture_on_commit_callbacks)

    # then
    assert len(slack.requests) == 2
    assert statuses() == [
        ("ae@example.com", "email", "pending"),
        ("ae@example.com", "slack", "sent"),
        ("csm@example.com", "email", "pending"),
        ("csm@example.com", "slack", "sent"),
    ]
    assert set(Delivery.objects.filter(channel="email").values_list("attempts", "last_error")) == {
        (1, "OSError: SMTP server unreachable")
    }


def test_retries_stop_after_max_attempts(eql, ae, settings):
    # given
    settings.SLACK_WEBHOOK_URL = CLOSED_PORT_URL
    note = Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="s", body="b")
    delivery = Delivery.objects.create(notification=note, channel="slack")

    # when: each call is one attempt, as the task's retries make them
    finals = []
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(DeliveryFailed) as failure:
            delivery_send(delivery_id=delivery.pk)
        finals.append(failure.value.final)
        delivery.refresh_from_db()
        assert delivery.attempts == len(finals)

    # then
    assert finals == [False] * (MAX_ATTEMPTS - 1) + [True]
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery.last_error.startswith("URLError:")


def test_a_failed_delivery_is_not_attempted_again(eql, ae, settings):
    # given: a delivery that used up its attempts (a redelivered task must not send it again)
    settings.SLACK_WEBHOOK_URL = CLOSED_PORT_URL
    note = Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="s", body="b")
    delivery = Delivery.objects.create(
        notification=note, channel="slack", status="failed", attempts=MAX_ATTEMPTS, last_error="URLError: x"
    )

    # when
    result = delivery_send(delivery_id=delivery.pk)

    # then
    delivery.refresh_from_db()
    assert result == "failed"
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        MAX_ATTEMPTS,
        "URLError: x",
    )


def test_a_pending_delivery_succeeds_on_a_later_attempt(eql, ae, settings):
    # given: two failed attempts so far
    note = Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="Hello", body="b")
    delivery = Delivery.objects.create(
        notification=note, channel="email", attempts=2, last_error="OSError: x"
    )

    # when
    result = delivery_send(delivery_id=delivery.pk)

    # then
    delivery.refresh_from_db()
    assert result == "sent"
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert delivery.sent_at is not None
    assert [m.subject for m in mail.outbox] == ["Hello"]

    # and a duplicate task does not send it twice
    assert delivery_send(delivery_id=delivery.pk) == "already sent"
    assert len(mail.outbox) == 1


def test_announce_never_raises_when_notify_fails(eql, monkeypatch, django_capture_on_commit_callbacks):
    # given
    def broken(**kwargs):
        raise RuntimeError("notification store down")

    monkeypatch.setattr(services, "notify", broken)

    # when
    announce_new(eql, django_capture_on_commit_callbacks)

    # then
    assert EQL.objects.filter(pk=eql.pk, status="new").exists()
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_a_failure_halfway_through_leaves_no_partial_notifications(
    eql, ae, csm, monkeypatch, django_capture_on_commit_callbacks
):
    # given: the new-EQL notifications are written, then the upgrade notifications fail
    other = EQLFactory(account=AccountFactory(ae=ae, csm=csm), owner=ae, csm=csm)

    def fails_on_upgrades(*, eqls, kind):
        if kind == Notification.Kind.EQL_CHANGED:
            raise RuntimeError("boom")
        return notify(eqls=eqls, kind=kind)

    monkeypatch.setattr(services, "notify", fails_on_upgrades)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        eqls_announce(created_ids=(eql.pk,), changed_ids=(), upgraded_ids=(other.pk,))

    # then
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert mail.outbox == []
    assert EQL.objects.filter(pk__in=[eql.pk, other.pk]).count() == 2


def test_announce_never_raises_when_webhooks_fail(eql, monkeypatch, django_capture_on_commit_callbacks):
    # given
    def broken(**kwargs):
        raise RuntimeError("webhook table locked")

    monkeypatch.setattr("routing.webhooks.webhooks_queue", broken)

    # when
    announce_new(eql, django_capture_on_commit_callbacks)

    # then
    assert EQL.objects.filter(pk=eql.pk).exists()


def test_the_task_retries_with_backoff_then_reports_failed(eql, ae, settings, monkeypatch):
    # given: inline tasks that do not propagate, so Celery re-runs each retry at once as a worker would later
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", False)
    settings.SLACK_WEBHOOK_URL = CLOSED_PORT_URL
    note = Notification.objects.create(recipient=ae, eql=eql, kind="new_eql", subject="s", body="b")
    delivery = Delivery.objects.create(notification=note, channel="slack")

    # when
    result = deliver.delay(delivery.pk)

    # then
    delivery.refresh_from_db()
    assert result.get() == "failed"
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert [backoff_seconds(n) for n in range(MAX_ATTEMPTS - 1)] == [30, 60, 120, 240]


def test_every_delivery_attempt_logs_channel_outcome_and_duration(
    eql, settings, caplog, django_capture_on_commit_callbacks
):
    settings.SLACK_WEBHOOK_URL = CLOSED_PORT_URL

    with caplog.at_level("INFO", logger="routing.delivery"):
        announce_new(eql, django_capture_on_commit_callbacks)

    lines = [r.getMessage() for r in caplog.records if r.name == "routing.delivery"]
    sent = [line for line in lines if "channel=email" in line]
    failed = [line for line in lines if "channel=slack" in line]
    assert len(sent) == 2
    assert len(failed) == 2
    for line in sent:
        assert re.fullmatch(r"delivery=\d+ channel=email attempt=1 status=sent seconds=\d+\.\d\d", line)
    for line in failed:
        assert re.match(
            r"delivery=\d+ channel=slack attempt=1 status=pending seconds=\d+\.\d\d error=URLError", line
        )


def test_the_deadline_is_in_the_configured_time_zone_and_amounts_in_the_currency(eql, settings):
    # given: an EQL due at 14:30 UTC, a Berlin team reporting in euros
    from routing.services import notification_content

    settings.TIME_ZONE = "Europe/Berlin"
    settings.REPORTING_CURRENCY = "EUR"
    eql.sla_deadline = dt.datetime(2026, 12, 3, 14, 30, tzinfo=dt.UTC)

    # when
    _subject, body = notification_content(eql, "new_eql")

    # then: 15:30 in Berlin (CET), in the app's one date format
    assert "SLA deadline: 3 Dec 2026, 15:30 (Europe/Berlin)" in body.splitlines()
    assert "Worth: contract ARR €48,000, estimated expansion €9,600 (default)" in body.splitlines()
