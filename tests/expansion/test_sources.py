"""Warehouse sources (contract.md, "Warehouse sources"): Parquet files and a DuckDB file read through
``sync_source``, validated like the CSV export, incremental by watermark. PostgreSQL as a warehouse is
in test_sources_postgres.py."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from expansion.models import Account, SourceInput, SourceRun, UsageSnapshot, User, WarehouseSource
from expansion.sources.services import location_problem

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


def users_table() -> pa.Table:
    return pa.table(
        {
            "email": ["mia@example.com", "alex@example.com"],
            "name": ["Mia Manager", "Alex AE"],
            "role": ["Manager", "AE"],
            "manager_email": [None, "mia@example.com"],
            "capacity": pa.array([None, 25], pa.int64()),
            "updated_at": [T0, T0],
        }
    )


def accounts_table() -> pa.Table:
    return pa.table(
        {
            "account_id": ["A-1", "A-2"],
            "name": ["Acme", "Globex"],
            "segment": ["MidMarket", "Enterprise"],
            "plan_tier": ["Professional", "Business"],
            "contract_arr": pa.array([48000.0, 250000.5]),
            "customer_since": [dt.date(2022, 1, 15), dt.date(2021, 6, 1)],
            "status": ["active", "active"],
            "ae_email": ["alex@example.com", None],
            "updated_at": [T0, T0],
        }
    )


def usage_table(days: list[int], values: list[object] | None = None) -> pa.Table:
    rows = [(a, d) for d in days for a in ("A-1", "A-2")]
    return pa.table(
        {
            "account_id": [a for a, _ in rows],
            "date": [dt.date(2025, 5, d) for _, d in rows],
            "metric": ["seats_active"] * len(rows),
            "value": values if values is not None else [float(10 + d) for _, d in rows],
        }
    )


def sync(name: str) -> dict:
    out = StringIO()
    call_command("sync_source", name, "--json", stdout=out)
    return json.loads(out.getvalue())


def counts(payload: dict, source: str) -> dict:
    """The JSON without the timings (seconds vary), which are checked to be numbers."""
    result = {}
    for name, entry in payload[source].items():
        assert isinstance(entry.pop("seconds"), float)
        result[name] = entry
    return result


@pytest.fixture
def parquet_folder(tmp_path: Path) -> Path:
    pq.write_table(users_table(), tmp_path / "users.parquet")
    pq.write_table(accounts_table(), tmp_path / "accounts.parquet")
    (tmp_path / "usage").mkdir()
    pq.write_table(usage_table([1, 2]), tmp_path / "usage" / "part-1.parquet")
    WarehouseSource.objects.create(name="lake", kind="parquet", location=str(tmp_path))
    return tmp_path


def test_parquet_sync_loads_each_input_and_prints_json(parquet_folder):
    # When
    payload = sync("lake")
    # Then
    assert counts(payload, "lake") == {
        "users": {"rows": 2, "created": 2, "updated": 0},
        "accounts": {"rows": 2, "created": 2, "updated": 0},
        "usage": {"rows": 4, "created": 4, "updated": 0},
    }
    assert Account.objects.get(account_id="A-2").contract_arr == pytest.approx(250000.5)
    assert User.objects.get(email="alex@example.com").manager.email == "mia@example.com"
    assert sorted(UsageSnapshot.objects.values_list("account__account_id", "date", "value")) == [
        ("A-1", dt.date(2025, 5, 1), 11.0),
        ("A-1", dt.date(2025, 5, 2), 12.0),
        ("A-2", dt.date(2025, 5, 1), 11.0),
        ("A-2", dt.date(2025, 5, 2), 12.0),
    ]
    run = SourceRun.objects.get()
    assert (run.state, run.rows_read, run.rows_rejected, run.rows_written) == ("done", 8, 0, 8)
    assert run.inputs["usage"]["rows"] == 4


def test_parquet_second_sync_reads_nothing_then_only_new_rows(parquet_folder):
    # Given
    sync("lake")
    # When nothing changed
    second = counts(sync("lake"), "lake")
    # Then no input reads a row (each has a watermark column)
    assert second == {
        name: {"rows": 0, "created": 0, "updated": 0} for name in ("users", "accounts", "usage")
    }
    assert SourceInput.objects.get(source__name="lake", input="usage").watermark == "2025-05-02"
    # When a new day lands in the folder
    pq.write_table(usage_table([3]), parquet_folder / "usage" / "part-2.parquet")
    third = counts(sync("lake"), "lake")
    # Then only that day is read
    assert third["usage"] == {"rows": 2, "created": 2, "updated": 0}
    assert UsageSnapshot.objects.count() == 6
    assert SourceInput.objects.get(source__name="lake", input="usage").watermark == "2025-05-03"


def test_parquet_lag_rereads_recent_days_and_picks_up_late_rows(parquet_folder):
    # Given a synced folder and a one-day lag
    sync("lake")
    WarehouseSource.objects.filter(name="lake").update(lag_days=1)
    # When a late row for day 2 arrives
    late = usage_table([2]).slice(0, 1).set_column(2, "metric", pa.array(["api_calls_30d"]))
    pq.write_table(late, parquet_folder / "usage" / "part-late.parquet")
    result = counts(sync("lake"), "lake")
    # Then day 2 is read again: the late row is created, the others are unchanged
    assert result["usage"] == {"rows": 3, "created": 1, "updated": 0}


def test_parquet_bad_row_rejects_the_input_and_keeps_the_previous_data(parquet_folder):
    # Given a first sync
    sync("lake")
    # When the new file has a bad value on its third row
    bad = usage_table([3, 4], values=["1", "2", "lots", "4"])
    pq.write_table(bad, parquet_folder / "usage" / "part-2.parquet")
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 input\(s\) not loaded"):
        call_command("sync_source", "lake", stdout=StringIO(), stderr=err)
    # Then the message names the file, row and column; nothing was written; the watermark stays
    assert "  usage/*.parquet:3: value: cannot read 'lots' as a number" in err.getvalue().splitlines()
    assert UsageSnapshot.objects.count() == 4
    assert SourceInput.objects.get(source__name="lake", input="usage").watermark == "2025-05-02"
    run = SourceRun.objects.latest()
    assert (run.state, run.rows_rejected) == ("rejected", 1)
    assert run.inputs["usage"] == {
        "rows": 4,
        "rejected": 1,
        "created": 0,
        "updated": 0,
        "state": "rejected",
        "seconds": run.inputs["usage"]["seconds"],
    }
    assert "usage/*.parquet:3: value: cannot read 'lots' as a number" in run.message


def test_parquet_missing_required_column_names_the_file(parquet_folder):
    # Given accounts without a segment column
    pq.write_table(accounts_table().drop_columns(["segment"]), parquet_folder / "accounts.parquet")
    err = StringIO()
    # When
    with pytest.raises(CommandError):
        call_command("sync_source", "lake", stdout=StringIO(), stderr=err)
    # Then
    assert "  accounts.parquet: columns: missing required column(s) segment" in err.getvalue().splitlines()
    assert Account.objects.count() == 0


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for name, table in (("users", users_table()), ("accounts", accounts_table())):
        con.register("t", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM t")
        con.unregister("t")
    con.register("t", usage_table([1, 2]))
    con.execute("CREATE TABLE daily_usage AS SELECT * FROM t")
    con.close()
    source = WarehouseSource.objects.create(name="duck", kind="duckdb", location=str(path))
    SourceInput.objects.create(source=source, input="usage", query="daily_usage")
    return path


def test_duckdb_sync_is_incremental(duckdb_file):
    # When
    first = counts(sync("duck"), "duck")
    second = counts(sync("duck"), "duck")
    con = duckdb.connect(str(duckdb_file))
    con.register("t", usage_table([3]))
    con.execute("INSERT INTO daily_usage SELECT * FROM t")
    con.close()
    third = counts(sync("duck"), "duck")
    # Then
    assert first["usage"] == {"rows": 4, "created": 4, "updated": 0}
    assert first["accounts"] == {"rows": 2, "created": 2, "updated": 0}
    assert second["usage"] == {"rows": 0, "created": 0, "updated": 0}
    assert third["usage"] == {"rows": 2, "created": 2, "updated": 0}
    assert UsageSnapshot.objects.count() == 6


def test_duckdb_query_with_a_bad_row_names_the_input_and_row(duckdb_file):
    # Given a query that yields an unknown account on its second row
    SourceInput.objects.filter(input="usage").update(
        query="SELECT account_id, date, metric, value FROM daily_usage "
        "UNION ALL SELECT 'A-9', DATE '2025-05-09', 'seats_active', 1 ORDER BY date, account_id DESC"
    )
    err = StringIO()
    # When
    with pytest.raises(CommandError):
        call_command("sync_source", "duck", stdout=StringIO(), stderr=err)
    # Then
    assert "  usage:5: account_id: usage for unknown account 'A-9'" in err.getvalue().splitlines()
    assert UsageSnapshot.objects.count() == 0
    assert Account.objects.count() == 2


def test_unknown_source_name_is_a_clear_error(duckdb_file):
    with pytest.raises(CommandError, match=r"no warehouse source named 'nope' \(sources: duck\)"):
        call_command("sync_source", "nope")


@pytest.mark.parametrize(
    ("kind", "location", "refused"),
    [
        ("sql", "postgresql+psycopg://etl:s3cret@db.example.com/analytics", True),
        ("sql", "postgresql+psycopg://etl@db.example.com/analytics", False),
        ("sql", "env:WAREHOUSE_URL", False),
        ("parquet", "/data/export", False),
    ],
)
def test_a_password_in_a_url_is_never_stored(kind, location, refused):
    assert (location_problem(kind=kind, location=location) is not None) is refused


def test_admin_refuses_a_url_with_a_password():
    from expansion.sources.admin import WarehouseSourceForm

    form = WarehouseSourceForm(
        data={
            "name": "snow",
            "kind": "sql",
            "location": "snowflake://etl:s3cret@acme/analytics",
            "enabled": "on",
            "lag_days": "0",
        }
    )
    assert not form.is_valid()
    assert form.errors["location"] == [
        "this URL holds a password; put the URL in an environment variable and write "
        "env:VARIABLE_NAME here (e.g. env:WAREHOUSE_URL), so the secret is never stored"
    ]


@pytest.mark.parametrize(
    ("kind", "location", "accepted"), [("sql", "env:WAREHOUSE_URL", False), ("parquet", "/lake", True)]
)
def test_admin_scores_in_place_only_parquet_and_duckdb_sources(kind, location, accepted):
    from expansion.sources.admin import WarehouseSourceForm

    data = {"name": "w", "kind": kind, "location": location, "enabled": "on", "lag_days": "0"}
    form = WarehouseSourceForm(data={**data, "score_in_place": "on"})
    assert form.is_valid() is accepted
    if not accepted:
        assert "Only Parquet and DuckDB sources can be scored in place" in form.errors["score_in_place"][0]


def test_environment_source_is_synced_without_admin(tmp_path, monkeypatch):
    # Given only environment variables pointing at a Parquet folder
    pq.write_table(users_table(), tmp_path / "users.parquet")
    monkeypatch.setenv("WAREHOUSE_SOURCE_URL", str(tmp_path))
    # When
    payload = counts(_sync_all(), "warehouse")
    # Then
    assert payload == {"users": {"rows": 2, "created": 2, "updated": 0}}
    source = WarehouseSource.objects.get()
    assert (source.name, source.kind, source.location) == ("warehouse", "parquet", "env:WAREHOUSE_SOURCE_URL")


def _sync_all() -> dict:
    out = StringIO()
    call_command("sync_source", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_hourly_job_syncs_then_scores(parquet_folder):
    from dashboards.tasks import sync_then_score
    from scoring.models import ScoringPass

    # When the beat's job runs (eagerly in tests)
    sync_then_score.delay()
    # Then the source was synced and a scoring pass ran after it
    assert SourceRun.objects.get().state == "done"
    assert UsageSnapshot.objects.count() == 4
    assert ScoringPass.objects.count() == 1


def typed_usage(**overrides) -> pa.Table:
    columns = {
        "account_id": ["A-1", "A-2"],
        "date": [dt.date(2025, 5, 1), dt.date(2025, 5, 2)],
        "metric": ["seats_active", "api_calls_30d"],
        "value": [10.0, 0.0],
    }
    return pa.table({**columns, **overrides})


@pytest.mark.parametrize(
    ("overrides", "certain"),
    [
        ({}, True),
        ({"value": pa.array([10, 3], pa.int64())}, True),
        ({"account_id": ["A-1", "A-9"]}, False),  # unknown account
        ({"account_id": ["A-1", " A-2"]}, False),  # padded: the text path strips and decides
        ({"value": [10.0, -1.0]}, False),
        ({"value": [10.0, float("nan")]}, False),
        ({"value": [10.0, 1e16]}, False),
        ({"value": [10.0, None]}, False),
        ({"value": ["10", "3"]}, False),  # text values: parsed by the text path
        ({"metric": ["seats_active", ""]}, False),
        ({"metric": ["seats_active", "x" * 121]}, False),
        ({"metric": ["seats_active", "seats\x00"]}, False),
        ({"date": [dt.datetime(2025, 5, 1), dt.datetime(2025, 5, 2)]}, False),
    ],
)
def test_typed_usage_batches_skip_text_validation_only_when_every_row_is_valid(overrides, certain):
    from expansion.importing import usage_batch_certainly_valid

    known = pa.array(["A-1", "A-2"])
    assert usage_batch_certainly_valid(typed_usage(**overrides), known) is certain


def test_in_place_sync_validates_typed_batches_without_text(parquet_folder, monkeypatch):
    from expansion.sources import readers

    WarehouseSource.objects.filter(name="lake").update(score_in_place=True)
    texts = []
    original = readers.to_text
    monkeypatch.setattr(readers, "to_text", lambda batch: texts.append(batch.num_rows) or original(batch))
    result = counts(sync("lake"), "lake")
    # the usage rows were counted and validated on their types, none turned into text or written
    assert result["usage"] == {"rows": 4, "created": 0, "updated": 0}
    assert UsageSnapshot.objects.count() == 0
    assert sum(texts) == 2 + 2  # users and accounts only


def test_a_copied_typed_batch_is_staged_from_its_types_and_stored_exactly(parquet_folder, monkeypatch):
    from expansion.sources import readers

    texts = []
    original = readers.to_text
    monkeypatch.setattr(readers, "to_text", lambda batch: texts.append(batch.num_rows) or original(batch))
    result = counts(sync("lake"), "lake")
    assert result["usage"] == {"rows": 4, "created": 4, "updated": 0}
    assert sum(texts) == 2 + 2  # users and accounts only: usage went through its typed path
    stored = sorted(UsageSnapshot.objects.values_list("account__account_id", "date", "metric__name", "value"))
    assert stored == [
        ("A-1", dt.date(2025, 5, 1), "seats_active", 11.0),
        ("A-1", dt.date(2025, 5, 2), "seats_active", 12.0),
        ("A-2", dt.date(2025, 5, 1), "seats_active", 11.0),
        ("A-2", dt.date(2025, 5, 2), "seats_active", 12.0),
    ]


def test_a_typed_batch_with_a_repeated_key_is_rejected_naming_both_rows(parquet_folder):
    table = usage_table([3, 3])  # every (account, day, metric) twice
    pq.write_table(table, parquet_folder / "usage" / "part-2.parquet")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("sync_source", "lake", stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    # rows 1-4 are part-1's, 5-8 part-2's: the second copy of each key names the first
    assert "  usage/*.parquet:7: date: duplicate account_id/date/metric (first on line 5)" in lines
    assert "  usage/*.parquet:8: date: duplicate account_id/date/metric (first on line 6)" in lines
    assert UsageSnapshot.objects.count() == 0
