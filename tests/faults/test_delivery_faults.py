"""Email and Slack endpoints that hang: each delivery times out, is retried with backoff up to its
limit and recorded as failed, while the other channel delivers at once. Real Celery worker and broker,
real sockets (a relay that accepts and never answers, a working SMTP server, a working Slack hook).
"""

from __future__ import annotations

import pytest

from routing.models import Delivery, Notification
from routing.services import notify_people
from tests.factories import UserFactory
from tests.faults.harness import (
    FakeSlack,
    FakeSMTP,
    HangingEndpoint,
    RedisServer,
    Sender,
    celery_worker,
    process_env,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT = 1  # seconds, for both channels
ATTEMPTS = 5


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """A private broker: notifications queued on commit go there, to the worker the test starts."""
    from routing.tasks import deliver

    redis = RedisServer(tmp_path).start()
    sender = Sender(redis.url(0))
    monkeypatch.setattr(deliver, "delay", lambda pk: sender.send_task("routing.tasks.deliver", (pk,)))
    yield redis
    sender.app.close()
    redis.kill()


def _worker(redis: RedisServer, log, *, smtp_port: int, slack_url: str):
    env = process_env(
        redis,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_port,
        EMAIL_TIMEOUT=TIMEOUT,
        SLACK_WEBHOOK_URL=slack_url,
        SLACK_TIMEOUT_SECONDS=TIMEOUT,
        DELIVERY_RETRY_BASE_SECONDS=0.2,
    )
    return celery_worker(env, log, concurrency=2)


def _alert(settings, slack_url: str) -> tuple[Delivery, Delivery]:
    settings.SLACK_WEBHOOK_URL = slack_url
    revops = UserFactory(role="RevOps", email="revops@example.com")
    [note] = notify_people(
        role="RevOps", kind=Notification.Kind.PASS_ALERT, subject="Scoring pass alert", body="Pass 7 failed"
    )
    assert note.recipient == revops
    return (
        Delivery.objects.get(notification=note, channel=Delivery.Channel.EMAIL),
        Delivery.objects.get(notification=note, channel=Delivery.Channel.SLACK),
    )


def _final(delivery: Delivery) -> bool:
    delivery.refresh_from_db()
    return delivery.status != Delivery.Status.PENDING


def test_a_hanging_smtp_relay_times_out_and_retries_while_slack_delivers(broker, settings, tmp_path):
    relay, slack = HangingEndpoint(), FakeSlack()
    worker = _worker(broker, tmp_path / "worker.log", smtp_port=relay.port, slack_url=slack.url)
    try:
        email, slack_delivery = _alert(settings, slack.url)

        # Slack goes out at once, while the email is still timing out and being retried
        wait_until(lambda: _final(slack_delivery), timeout=60, what="the Slack delivery")
        email.refresh_from_db()
        assert slack_delivery.status == Delivery.Status.SENT
        assert email.status == Delivery.Status.PENDING
        assert email.attempts < ATTEMPTS

        # the email gives up after its attempts, each ended by the socket timeout
        wait_until(
            lambda: _final(email), timeout=120, what=lambda: f"the email to fail\n{worker.text()[-3000:]}"
        )
    finally:
        worker.stop()
        relay.close()
        slack.close()

    assert email.status == Delivery.Status.FAILED
    assert email.attempts == ATTEMPTS
    assert "timed out" in email.last_error
    assert len(relay.connections) == ATTEMPTS
    assert [post["text"].splitlines()[0] for post in slack.posts] == ["*Scoring pass alert*"]


def test_a_hanging_slack_hook_times_out_and_retries_while_email_delivers(broker, settings, tmp_path):
    smtp, hook = FakeSMTP(), HangingEndpoint()
    hook_url = f"http://127.0.0.1:{hook.port}/services/hangs"
    worker = _worker(broker, tmp_path / "worker.log", smtp_port=smtp.port, slack_url=hook_url)
    try:
        email, slack_delivery = _alert(settings, hook_url)

        wait_until(lambda: _final(email), timeout=60, what="the email")
        slack_delivery.refresh_from_db()
        assert email.status == Delivery.Status.SENT
        assert slack_delivery.status == Delivery.Status.PENDING

        wait_until(
            lambda: _final(slack_delivery),
            timeout=120,
            what=lambda: f"Slack to fail\n{worker.text()[-3000:]}",
        )
    finally:
        worker.stop()
        smtp.close()
        hook.close()

    assert slack_delivery.status == Delivery.Status.FAILED
    assert slack_delivery.attempts == ATTEMPTS
    assert "timed out" in slack_delivery.last_error
    assert len(smtp.messages) == 1
    assert b"Subject: Scoring pass alert" in smtp.messages[0]
