"""Property-based API check: every operation of the served OpenAPI schema, called in-process with
generated inputs by a RevOps user, never answers a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import utils as conjecture_utils
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from expansion.models import Role
from expansion.wsgi import application
from tests.factories import AccountFactory, EQLFactory, UserFactory

if not hasattr(conjecture_utils.many, "more"):
    # hypothesis 6.170.10 removed the private many.more() that hypothesis-jsonschema 0.23.1 (schemathesis 3's
    # generator) calls, so no case can be generated. Pin hypothesis<6.170.10 in the dev extras to run this.
    pytest.skip(
        "hypothesis>=6.170.10 is incompatible with hypothesis-jsonschema 0.23.1; pin hypothesis<6.170.10",
        allow_module_level=True,
    )

schema = schemathesis.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _keep_test_transaction():
    """Calls go straight to the WSGI app; like Django's test client, keep its request signals from closing
    the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api(_keep_test_transaction):
    """A RevOps token and a few EQLs to aim path ids at; returns (headers, eql ids)."""
    revops = UserFactory(role=Role.REVOPS)
    ae, csm = UserFactory(role=Role.AE), UserFactory(role=Role.CSM)
    eqls = [
        EQLFactory(
            account=AccountFactory(ae=ae, csm=csm), owner=ae, csm=csm, status=status, review_state=state
        )
        for status, state in (("new", "pending"), ("contacted", ""), ("proposal_sent", "held"))
    ]
    headers = {"Authorization": f"Token {Token.objects.create(user=revops).key}"}
    return headers, [e.pk for e in eqls]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_operation_answers_a_server_error(case, api):
    # given: path ids point at real EQLs half the time, so events reach the lifecycle rules
    headers, ids = api
    if isinstance((case.path_parameters or {}).get("id"), int) and case.path_parameters["id"] % 2 == 0:
        case.path_parameters["id"] = ids[case.path_parameters["id"] // 2 % len(ids)]

    # when
    response = case.call(headers=headers)

    # then
    case.validate_response(response, checks=(not_a_server_error,))
