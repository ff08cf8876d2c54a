"""The self-serve motion: one email to the account's admin contact, logged; no admin email: the CSM."""

from __future__ import annotations

import pytest
from django.core import mail

from routing.models import SelfServeMessage
from routing.self_serve import SENT_EVENT, self_serve_message_send
from tests.factories import AccountFactory, EQLFactory

pytestmark = pytest.mark.django_db


def test_self_serve_sends_one_email_with_the_account_name_and_logs_it():
    eql = EQLFactory(
        account=AccountFactory(name="Acme Rockets", admin_email="admin@acme.test"), route="self_serve"
    )
    assert self_serve_message_send(eql_id=eql.pk) == "sent"
    assert self_serve_message_send(eql_id=eql.pk) == "sent"  # idempotent: no second email
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["admin@acme.test"]
    assert "Acme Rockets" in mail.outbox[0].subject
    log = SelfServeMessage.objects.get(eql=eql)
    assert (log.status, log.to, log.sent_at is not None) == ("sent", "admin@acme.test", True)
    assert eql.events.filter(event=SENT_EVENT).count() == 1


def test_without_admin_email_nothing_is_sent_and_the_csm_keeps_it():
    eql = EQLFactory(account=AccountFactory(admin_email=""), route="self_serve")
    assert self_serve_message_send(eql_id=eql.pk) == "no_address"
    assert mail.outbox == []
    assert SelfServeMessage.objects.get(eql=eql).status == "no_address"
