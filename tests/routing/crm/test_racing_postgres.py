"""Two syncs at the same moment on PostgreSQL (two workers, or two beats by mistake): one CRM record
per EQL, each EQL sent by one of them."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as db_connection

from routing.crm import services
from routing.crm.models import CrmLink
from tests.routing.crm.conftest import open_eqls

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_simultaneous_syncs_send_each_eql_once(salesforce, salesforce_fake, ae, settings):
    if db_connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (run it in the PostgreSQL half of make test)")
    # Both runs use one session: the test server honours only the token it issued last, so two
    # clients fetching their own tokens would keep expiring each other's.
    settings.SALESFORCE_CLIENT_ID = settings.SALESFORCE_CLIENT_SECRET = settings.SALESFORCE_DOMAIN = ""
    settings.SALESFORCE_INSTANCE_URL = salesforce_fake.instance_url
    settings.SALESFORCE_ACCESS_TOKEN = salesforce_fake.access_token
    salesforce_fake.add_user(ae.email)
    eqls = open_eqls(40, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    both_ready = threading.Barrier(2, timeout=30)
    results, errors = [], []

    class Client:
        """The real client; both runs wait for each other after reading owners, then claim at once."""

        def __init__(self):
            self.real = services.client_for(salesforce)
            self.batch_size = 10

        def __getattr__(self, name):
            return getattr(self.real, name)

        def owner_ids(self, emails):
            found = self.real.owner_ids(emails)
            both_ready.wait()
            return found

    def run():
        try:
            results.append(services.crm_sync(connection=salesforce, client=Client(), read_back=False))
        except Exception as exc:  # reported below with the assertion
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sum(r.written for r in results) == 40
    records = salesforce_fake.find("Opportunity")
    assert sorted(r["EQL_Id__c"] for r in records) == sorted(str(e.pk) for e in eqls)
    sent = sum(r.get("records", 0) for r in salesforce_fake.requests if r["write"])
    assert sent == 40  # no EQL went out twice
    assert CrmLink.objects.exclude(crm_id="").count() == 40
