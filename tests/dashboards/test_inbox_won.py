"""Closing a co-owned EQL as won from the inbox records the contribution split in the credit log."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from expansion.models import AttributionEntry, EQLStatus, Route
from tests.factories import AccountFactory, EQLFactory, UserFactory


@pytest.fixture
def co_owned(db):
    ae, csm = UserFactory(role="AE"), UserFactory(role="CSM")
    account = AccountFactory(ae=ae, csm=csm)
    eql = EQLFactory(
        account=account,
        owner=ae,
        csm=csm,
        route=Route.AE,
        csm_involvement_required=True,
        status=EQLStatus.CALL_BOOKED,
        estimated_expansion_arr=Decimal("30000.00"),
        created_at=timezone.now() - dt.timedelta(days=3),
    )
    return ae, csm, eql


def test_the_won_form_proposes_a_split_for_a_co_owned_eql(client, co_owned):
    ae, csm, eql = co_owned
    client.force_login(ae)

    page = client.get(reverse("eql", args=[eql.pk])).content.decode()

    assert 'name="split_email"' in page
    assert f'value="{ae.email}"' in page
    assert f'value="{csm.email}"' in page


def test_won_with_a_70_30_split_credits_both_people(client, co_owned):
    ae, csm, eql = co_owned
    client.force_login(ae)

    response = client.post(
        reverse("eql_event", args=[eql.pk]),
        {
            "type": "won",
            "expansion_arr": "30000",
            "split_email": [ae.email, csm.email],
            "split_percent": ["70", "30"],
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    eql.refresh_from_db()
    assert eql.status == EQLStatus.WON
    quota = dict(AttributionEntry.objects.filter(credit_type="quota").values_list("person__email", "amount"))
    assert quota == {ae.email: Decimal("21000.00"), csm.email: Decimal("9000.00")}


def test_a_split_that_does_not_total_100_is_refused_and_nothing_changes(client, co_owned):
    ae, csm, eql = co_owned
    client.force_login(ae)

    response = client.post(
        reverse("eql_event", args=[eql.pk]),
        {
            "type": "won",
            "expansion_arr": "30000",
            "split_email": [ae.email, csm.email],
            "split_percent": ["70", "20"],
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    assert "100" in response.content.decode()
    eql.refresh_from_db()
    assert eql.status == EQLStatus.CALL_BOOKED
    assert not AttributionEntry.objects.exists()
