"""PostgreSQL as a warehouse: a separate database made for the test, filled with SQL, read by a SQL
source through SQLAlchemy (the URL comes from an environment variable, as in production)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command

from expansion.models import SourceInput, SourceRun, UsageSnapshot, WarehouseSource

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SERVER = "postgresql://expansion:expansion@127.0.0.1:5432"
SCHEMA = """
CREATE TABLE crm_users (email text, name text, role text, updated_at timestamptz);
INSERT INTO crm_users VALUES ('alex@example.com', 'Alex AE', 'AE', '2025-05-01 08:00+00');
CREATE TABLE dim_accounts (account_id text, name text, segment text, plan_tier text,
  contract_arr numeric(14, 2), customer_since date, status text, ae_email text, updated_at timestamptz);
INSERT INTO dim_accounts VALUES
  ('A-1', 'Acme', 'MidMarket', 'Professional', 48000.00, '2022-01-15', 'active', 'alex@example.com',
   '2025-05-01 08:00+00'),
  ('A-2', 'Globex', 'Enterprise', 'Business', 250000.50, '2021-06-01', 'active', NULL, '2025-05-01 08:00+00');
CREATE TABLE fct_usage (account_id text, day date, metric text, value double precision);
INSERT INTO fct_usage VALUES
  ('A-1', '2025-05-01', 'seats_active', 11), ('A-2', '2025-05-01', 'seats_active', 21),
  ('A-1', '2025-05-02', 'seats_active', 12), ('A-2', '2025-05-02', 'seats_active', 22);
"""


@pytest.fixture
def warehouse(monkeypatch):
    name = f"warehouse_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER}/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(SCHEMA)
        monkeypatch.setenv("WAREHOUSE_TEST_URL", url.replace("postgresql://", "postgresql+psycopg://"))
        source = WarehouseSource.objects.create(name="pg", kind="sql", location="env:WAREHOUSE_TEST_URL")
        SourceInput.objects.create(source=source, input="users", query="SELECT * FROM crm_users")
        SourceInput.objects.create(source=source, input="accounts", query="SELECT * FROM dim_accounts")
        SourceInput.objects.create(
            source=source,
            input="usage",
            query="SELECT account_id, day AS date, metric, value FROM fct_usage;",
        )
        yield url
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sync() -> dict:
    out = StringIO()
    call_command("sync_source", "pg", "--json", stdout=out)
    payload = json.loads(out.getvalue())["pg"]
    for entry in payload.values():
        assert isinstance(entry.pop("seconds"), float)
    return payload


def test_sql_source_syncs_then_reads_only_new_rows(warehouse):
    # When
    first = sync()
    second = sync()
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute("INSERT INTO fct_usage VALUES ('A-1', '2025-05-03', 'seats_active', 13)")
    third = sync()
    # Then
    assert first == {
        "users": {"rows": 1, "created": 1, "updated": 0},
        "accounts": {"rows": 2, "created": 2, "updated": 0},
        "usage": {"rows": 4, "created": 4, "updated": 0},
    }
    assert second == {
        name: {"rows": 0, "created": 0, "updated": 0} for name in ("users", "accounts", "usage")
    }
    assert third["usage"] == {"rows": 1, "created": 1, "updated": 0}
    assert UsageSnapshot.objects.filter(date=dt.date(2025, 5, 3)).count() == 1
    assert SourceInput.objects.get(input="usage").watermark == "2025-05-03"
    assert SourceInput.objects.get(input="accounts").watermark == "2025-05-01T08:00:00+00:00"


def test_sql_bad_row_rejects_the_batch_and_names_table_row_column(warehouse):
    # Given a synced warehouse, then a bad negative value on the new rows' second row
    sync()
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute(
            "INSERT INTO fct_usage VALUES ('A-1', '2025-05-03', 'seats_active', 13),"
            " ('A-2', '2025-05-03', 'seats_active', -5)"
        )
    err = StringIO()
    # When
    with pytest.raises(CommandError):
        call_command("sync_source", "pg", stdout=StringIO(), stderr=err)
    # Then
    assert "  usage:2: value: -5 must not be negative" in err.getvalue().splitlines()
    assert UsageSnapshot.objects.count() == 4
    assert SourceInput.objects.get(input="usage").watermark == "2025-05-02"
    assert SourceRun.objects.latest().state == "rejected"


def test_sql_unset_environment_variable_fails_clearly(warehouse, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_TEST_URL")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("sync_source", "pg", stdout=StringIO(), stderr=err)
    assert err.getvalue() == "pg: location: the environment variable WAREHOUSE_TEST_URL is not set\n"
    assert SourceRun.objects.latest().state == "failed"


def test_sql_source_streams_text_with_commas_quotes_and_percent_signs(warehouse):
    # Given a name with a comma, quotes, a per cent sign and a line break, a metric named with a per
    # cent sign, and a query that names it in a literal
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute(
            "UPDATE dim_accounts SET name = 'Acme, \"the\" 100% co' || chr(10) || 'Ltd' "
            "WHERE account_id = 'A-1'"
        )
        con.execute("INSERT INTO fct_usage VALUES ('A-1', '2025-05-02', 'share_%', 0.5)")
    SourceInput.objects.filter(input="usage").update(
        query="SELECT account_id, day AS date, metric, value FROM fct_usage "
        "WHERE metric IN ('seats_active', 'share_%')"
    )
    # When the first sync (no watermark yet) and a second one (bound watermark) run
    first = sync()
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute("INSERT INTO fct_usage VALUES ('A-2', '2025-05-03', 'share_%', 0.25)")
    second = sync()
    # Then the text arrives as written and the literal matches with and without parameters
    from expansion.models import Account

    assert Account.objects.get(account_id="A-1").name == 'Acme, "the" 100% co\nLtd'
    assert first["usage"]["rows"] == 5
    assert second["usage"] == {"rows": 1, "created": 1, "updated": 0}
    assert UsageSnapshot.objects.get(date=dt.date(2025, 5, 3)).value == 0.25


def test_sql_source_with_no_rows_yet_is_not_an_error(warehouse):
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute("DELETE FROM fct_usage")
    assert sync()["usage"] == {"rows": 0, "created": 0, "updated": 0}


def test_sql_source_query_error_names_the_input(warehouse):
    SourceInput.objects.filter(input="usage").update(query="SELECT account_id, dayz AS date FROM fct_usage")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("sync_source", "pg", stdout=StringIO(), stderr=err)
    assert 'usage: query: column "dayz" does not exist' in err.getvalue()
    assert UsageSnapshot.objects.count() == 0
