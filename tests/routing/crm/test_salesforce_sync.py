"""The CRM sync against the local Salesforce server: incremental writes, rejects, limits, read-back."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from expansion.models import EQL, AttributionEntry
from routing.crm import services
from routing.crm.models import CrmLink, CrmReject, CrmSyncRun
from routing.services import eql_transition
from tests.routing.crm.conftest import open_eqls

pytestmark = pytest.mark.django_db


def sync(connection, **kwargs):
    return services.crm_sync(connection=connection, **kwargs)


def upsert_requests(fake) -> list[dict]:
    return [r for r in fake.requests if r["write"]]


def test_first_sync_writes_every_open_eql_and_a_second_writes_nothing(salesforce, salesforce_fake, ae):
    owner_id = salesforce_fake.add_user(ae.email)
    account_id = salesforce_fake.add_account("Acme")
    eqls = open_eqls(3, owner=ae, crm_account_id=account_id)

    first = sync(salesforce)

    assert (first.written, first.unchanged, first.rejected) == (3, 0, 0)
    records = salesforce_fake.find("Opportunity")
    assert sorted(r["EQL_Id__c"] for r in records) == sorted(str(e.pk) for e in eqls)
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eqls[0].pk))[0]
    assert opp["AccountId"] == account_id
    assert opp["OwnerId"] == owner_id
    assert opp["StageName"] == "Prospecting"
    assert opp["Amount"] == 9600.0
    assert opp["EQL_Link__c"] == f"http://127.0.0.1:8000/eqls/{eqls[0].pk}/"
    assert opp["EQL_Worth__c"] == "Estimated expansion $9,600 (no estimate source); contract ARR $48,000"
    assert CrmLink.objects.get(eql=eqls[0]).crm_id == opp["Id"]
    assert len(upsert_requests(salesforce_fake)) == 1  # three records, one collection request

    writes_before = salesforce_fake.write_requests()
    second = sync(salesforce)

    assert (second.written, second.unchanged, second.rejected) == (0, 3, 0)
    assert salesforce_fake.write_requests() == writes_before
    assert len(salesforce_fake.find("Opportunity")) == 3


def test_a_lifecycle_step_writes_only_that_eql(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eqls = open_eqls(3, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    sync(salesforce)

    eql_transition(eql_id=eqls[1].pk, user=ae, event="contacted")
    result = sync(salesforce)

    assert (result.written, result.unchanged) == (1, 2)
    assert upsert_requests(salesforce_fake)[-1]["records"] == 1
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eqls[1].pk))[0]
    assert (opp["StageName"], opp["EQL_Status__c"]) == ("Qualification", "contacted")


def test_a_record_the_crm_refuses_is_logged_shown_and_retried(salesforce, salesforce_fake, ae, client):
    salesforce_fake.add_user(ae.email)
    _good, bad = open_eqls(2, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    bad.account.crm_account_id = "001000000000099AAA"  # no such Account in the org
    bad.account.save()

    result = sync(salesforce)

    assert (result.written, result.rejected) == (1, 1)
    reject = CrmReject.objects.get(eql=bad, resolved_at__isnull=True)
    assert (reject.code, reject.fields) == ("INVALID_CROSS_REFERENCE_KEY", ["AccountId"])
    assert reject.text == "INVALID_CROSS_REFERENCE_KEY on AccountId: invalid cross reference id"
    client.force_login(ae)
    page = client.get(f"/eqls/{bad.pk}/").content.decode()
    assert "Not in Salesforce: INVALID_CROSS_REFERENCE_KEY on AccountId: invalid cross reference id" in page

    bad.account.crm_account_id = salesforce_fake.add_account("Acme EU")
    bad.account.save()
    retry = sync(salesforce)

    assert (retry.written, retry.unchanged, retry.rejected) == (1, 1, 0)
    assert CrmReject.objects.get(pk=reject.pk).resolved_at is not None
    assert len(salesforce_fake.find("Opportunity")) == 2


def test_an_owner_salesforce_does_not_know_is_a_rejection_not_a_crash(salesforce, salesforce_fake, ae):
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]

    result = sync(salesforce)

    assert (result.state, result.written, result.rejected) == ("done", 0, 1)
    reject = CrmReject.objects.get(eql=eql)
    assert reject.code == "OWNER_NOT_IN_CRM"
    assert reject.message == "OwnerId: no active Salesforce user with the email alex@example.com"
    assert salesforce_fake.write_requests() == 0


def test_the_api_limit_stops_the_run_and_the_next_run_resumes(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eqls = open_eqls(5, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    salesforce.bulk_threshold = 10_000
    salesforce.save()
    # the owner query, then one 2-record batch; the next batch hits REQUEST_LIMIT_EXCEEDED
    salesforce_fake.limit_after(2)
    stopped = services.crm_sync(connection=salesforce, client=_small_batches(salesforce, 2))

    assert stopped.state == "stopped"
    assert "Salesforce API limit reached" in stopped.message
    assert stopped.written == 2
    assert CrmSyncRun.objects.latest().state == "stopped"
    assert not CrmLink.objects.filter(claim_run__isnull=False).exists()  # nothing stays claimed

    salesforce_fake.lift_limit()
    resumed = sync(salesforce)

    assert (resumed.written, resumed.unchanged) == (3, 2)
    assert sorted(r["EQL_Id__c"] for r in salesforce_fake.find("Opportunity")) == sorted(
        str(e.pk) for e in eqls
    )


def _small_batches(connection, size: int):
    client = services.client_for(connection)
    client.batch_size = size
    return client


def test_a_429_is_waited_out_with_its_retry_after(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(2, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    client = services.client_for(salesforce)  # fetches its token
    salesforce_fake.rate_limit_next(count=1, retry_after=1)

    result = services.crm_sync(connection=salesforce, client=client, read_back=False)

    assert (result.state, result.written) == ("done", 2)
    # the owner lookup was answered 429, asked again a second later, then the upsert went through
    assert [r["path"] for r in salesforce_fake.requests] == [
        "/services/oauth2/token",
        "/services/data/v62.0/query/",
        "/services/data/v62.0/query/",
        "/services/data/v62.0/composite/sobjects/Opportunity/EQL_Id__c",
    ]
    assert result.requests == 4


def test_a_long_retry_after_stops_the_run_cleanly(salesforce, salesforce_fake, ae, settings):
    settings.CRM_MAX_RETRY_WAIT_SECONDS = 1
    salesforce_fake.add_user(ae.email)
    open_eqls(2, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    client = services.client_for(salesforce)
    client.owner_ids(["warm@example.com"])
    salesforce_fake.rate_limit_next(count=5, retry_after=120)

    result = services.crm_sync(connection=salesforce, client=client, read_back=False)

    assert result.state == "stopped"
    assert "retry after 120 s" in result.message
    assert result.written == 0


def test_a_batch_failing_as_a_whole_is_split_and_every_good_record_written(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(4, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    salesforce_fake.fail_next_upsert(500)

    result = sync(salesforce, read_back=False)

    assert (result.written, result.rejected) == (4, 0)
    assert [r["records"] for r in upsert_requests(salesforce_fake)] == [4, 2, 2]


def test_an_expired_token_is_renewed_once(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    client = services.client_for(salesforce)
    salesforce_fake.expire_token()

    result = services.crm_sync(connection=salesforce, client=client, read_back=False)

    assert (result.state, result.written) == ("done", 1)
    assert [r["path"] for r in salesforce_fake.requests].count("/services/oauth2/token") == 2


def test_an_access_token_that_expires_fails_loudly(salesforce, salesforce_fake, ae, settings):
    settings.SALESFORCE_CLIENT_ID = settings.SALESFORCE_CLIENT_SECRET = settings.SALESFORCE_DOMAIN = ""
    settings.SALESFORCE_INSTANCE_URL = salesforce_fake.instance_url
    settings.SALESFORCE_ACCESS_TOKEN = salesforce_fake.access_token
    open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    salesforce_fake.expire_token()

    result = sync(salesforce)

    assert result.state == "failed"
    assert "session expired and cannot be renewed; set a new SALESFORCE_ACCESS_TOKEN" in result.message
    assert CrmSyncRun.objects.latest().message == result.message


def test_above_the_bulk_threshold_one_bulk_job_writes_everything(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    good = open_eqls(5, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    bad = open_eqls(1, owner=ae, crm_account_id="001000000000099AAA")[0]
    salesforce.bulk_threshold = 5
    salesforce.save()

    result = sync(salesforce, read_back=False)

    assert (result.written, result.rejected) == (5, 1)
    paths = [(r["method"], r["path"]) for r in salesforce_fake.requests if "/jobs/ingest" in r["path"]]
    assert paths[0] == ("POST", "/services/data/v62.0/jobs/ingest")
    assert sum(1 for m, _ in paths if m == "POST") == 1  # one job
    assert not any("/composite/" in r["path"] for r in salesforce_fake.requests)
    assert CrmReject.objects.get(eql=bad).code == "INVALID_CROSS_REFERENCE_KEY"
    assert CrmLink.objects.filter(eql__in=good).exclude(crm_id="").count() == 5


def test_a_won_opportunity_closes_the_eql_with_its_credit_once(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]
    eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    sync(salesforce)
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]
    today = timezone.localdate()

    salesforce_fake.crm_edit(
        "Opportunity", opp["Id"], StageName="Closed Won", Amount=15500, CloseDate=str(today)
    )
    result = sync(salesforce)

    eql.refresh_from_db()
    assert result.closed_from_crm == 1
    assert (eql.status, eql.won_arr, eql.closed_at.date()) == ("won", Decimal("15500.00"), today)
    entries = AttributionEntry.objects.filter(eql=eql)
    assert entries.count() >= 1
    assert sum(e.amount for e in entries if e.credit_type == "quota") == Decimal("15500.00")
    assert CrmLink.objects.get(eql=eql).closed_from_crm is True

    again = sync(salesforce)

    assert again.closed_from_crm == 0
    assert AttributionEntry.objects.filter(eql=eql).count() == entries.count()


def test_a_lost_opportunity_closes_the_eql_as_lost_in_the_crm(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]
    sync(salesforce)
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]

    salesforce_fake.crm_edit("Opportunity", opp["Id"], StageName="Closed Lost")
    sync(salesforce)

    eql.refresh_from_db()
    assert (eql.status, eql.close_reason) == ("lost", "lost_in_crm")
    assert eql.events.get(event="lost").note == "Closed lost in Salesforce (Closed Lost)"


def test_an_owner_changed_in_salesforce_is_shown_and_not_written_back(
    salesforce, salesforce_fake, ae, client
):
    salesforce_fake.add_user(ae.email)
    other = salesforce_fake.add_user("someone.else@example.com")
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]
    sync(salesforce)
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]

    salesforce_fake.crm_edit("Opportunity", opp["Id"], OwnerId=other)
    sync(salesforce)
    eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    sync(salesforce)

    assert salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]["OwnerId"] == other
    assert CrmLink.objects.get(eql=eql).crm_owner_id == other
    client.force_login(ae)
    assert (
        f"The owner was changed in Salesforce (now {other})"
        in client.get(f"/eqls/{eql.pk}/").content.decode()
    )


def test_two_racing_syncs_create_one_record_per_eql(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eqls = open_eqls(3, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    inner: dict = {}

    class RacingClient:
        """The first run's client: just before it sends, a second run starts and finishes."""

        def __init__(self):
            self.real = services.client_for(salesforce)
            self.batch_size = self.real.batch_size

        def __getattr__(self, name):
            return getattr(self.real, name)

        def upsert(self, records):
            if not inner:
                inner["summary"] = services.crm_sync(connection=salesforce)
            return self.real.upsert(records)

    outer = services.crm_sync(connection=salesforce, client=RacingClient())

    assert inner["summary"].written == 0  # every EQL was claimed by the first run
    assert outer.written == 3
    assert sorted(r["EQL_Id__c"] for r in salesforce_fake.find("Opportunity")) == sorted(
        str(e.pk) for e in eqls
    )


def test_a_csm_review_eql_waits_for_create_in_salesforce(salesforce, salesforce_fake, ae, client):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"), route="csm_review")[0]
    assert sync(salesforce).written == 0
    client.force_login(ae)
    assert "Create in Salesforce" in client.get(f"/eqls/{eql.pk}/").content.decode()

    response = client.post(f"/eqls/{eql.pk}/crm/sf/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]
    assert f"/lightning/r/Opportunity/{opp['Id']}/view" in response.content.decode()
    assert "Open in Salesforce" in response.content.decode()


def test_dry_run_prints_payloads_and_sends_nothing(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]
    out = StringIO()

    call_command("crm_sync", "--dry-run", stdout=out)

    printed = json.loads(out.getvalue())
    assert [p["eql_id"] for p in printed["sf"]] == [eql.pk]
    assert printed["sf"][0]["fields"]["EQL_Id__c"] == str(eql.pk)
    assert salesforce_fake.write_requests() == 0
    assert not CrmLink.objects.exists()


def test_crm_sync_json_prints_the_figures_per_connection(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(2, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    out = StringIO()

    call_command("crm_sync", "--connection", "sf", "--json", stdout=out)

    figures = json.loads(out.getvalue())
    assert set(figures) == {"sf"}
    assert {k: v for k, v in figures["sf"].items() if k != "requests"} == {
        "written": 2,
        "unchanged": 0,
        "rejected": 0,
        "closed_from_crm": 0,
    }
    assert figures["sf"]["requests"] == len(salesforce_fake.requests)


def test_crm_sync_names_an_unknown_connection(salesforce):
    with pytest.raises(CommandError, match="no enabled CRM connection named 'nope'"):
        call_command("crm_sync", "--connection", "nope")


def test_a_mapping_salesforce_refuses_fails_the_run_with_the_field_named(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))
    salesforce.fields.create(crm_field="Typo_Field__c", source="score")

    result = sync(salesforce)

    assert result.state == "failed"
    assert "Salesforce refused the mapping for Opportunity: INVALID_FIELD" in result.message
    assert "Typo_Field__c" in result.message
    assert services.mapping_check(connection=salesforce) == [
        "Typo_Field__c: no such field on Opportunity in the CRM"
    ]


def test_an_eql_closed_in_the_app_updates_the_opportunity(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    eql = open_eqls(1, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))[0]
    sync(salesforce)
    eql_transition(eql_id=eql.pk, user=ae, event="contacted")
    eql_transition(eql_id=eql.pk, user=ae, event="proposal_sent")
    eql_transition(eql_id=eql.pk, user=ae, event="won", expansion_arr=Decimal("11000"))

    sync(salesforce)
    opp = salesforce_fake.find("Opportunity", EQL_Id__c=str(eql.pk))[0]

    assert (opp["StageName"], opp["Amount"]) == ("Closed Won", 11000.0)
    assert opp["CloseDate"] == timezone.localdate().isoformat()
    assert sync(salesforce).written == 0
    assert EQL.objects.get(pk=eql.pk).status == "won"
    assert dt.date.fromisoformat(opp["CloseDate"]) == timezone.localdate()


def test_more_than_200_records_go_in_collection_requests_of_200(salesforce, salesforce_fake, ae):
    salesforce_fake.add_user(ae.email)
    open_eqls(201, owner=ae, crm_account_id=salesforce_fake.add_account("Acme"))

    result = sync(salesforce, read_back=False)

    assert result.written == 201
    assert [r["records"] for r in upsert_requests(salesforce_fake)] == [200, 1]
