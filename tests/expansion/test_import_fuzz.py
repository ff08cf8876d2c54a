"""Fuzzing the import: arbitrary bytes or mangled rows never crash it and never half-write a file."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expansion.models import Account, UsageSnapshot
from expansion.services import ImportRejected, import_file
from tests.factories import AccountFactory

HEADER = "account_id,date,metric,value\n"
CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(["A-1", "2026-03-31", "seats_active", "12", "-3", "1e309", "", '"', "NaN", "2026-02-30"]),
)
ROW = st.lists(CELL, min_size=0, max_size=6).map(lambda cells: ",".join(cells))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _import(name: str, payload: bytes):
    """The result, or None after checking the rejection says what to fix."""
    errors = None
    try:
        return import_file(name=name, stream=io.BytesIO(payload))
    except ImportRejected as exc:
        errors = exc.errors
    assert errors
    assert all(isinstance(e, str) and e for e in errors)
    return None


@pytest.mark.django_db
@FUZZ
@given(rows=st.lists(ROW, max_size=8))
def test_mangled_usage_rows_are_imported_whole_or_rejected_whole(rows):
    if not Account.objects.filter(account_id="A-1").exists():
        AccountFactory(account_id="A-1")
    before = UsageSnapshot.objects.count()
    payload = (HEADER + "\n".join(rows) + "\n").encode()

    result = _import("usage.csv", payload)

    after = UsageSnapshot.objects.count()
    if result is None:
        assert after == before
    else:
        assert after - before == result.created


@pytest.mark.django_db
@FUZZ
@given(payload=st.binary(max_size=300), name=st.sampled_from(["users.csv", "accounts.csv", "activities.csv"]))
def test_arbitrary_bytes_never_crash_the_import(payload, name):
    _import(name, payload)
