"""Where the pass's readings come from (``scoring.readings``): the compiled query over the local usage
store or over a source scored in place, computed once per pass and reused while nothing changed; the
reference engine when pushdown is off. The decisions themselves are tested both ways in test_pass.py."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from expansion.models import EQL, UsageSnapshot, WarehouseSource
from scoring import pushdown, readings, selectors, usage_store
from scoring.models import PassStatus, ScoringPass, UsageStoreState
from scoring.services import scoring_pass_run
from tests.scoring.test_pass import AS_OF, HOT, QUIET, make_account, make_user, set_latest, when, write_usage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    settings.SCORING_PUSHDOWN = "auto"
    return settings.VAR_DIR


@pytest.fixture
def owners():
    return make_user("ae@example.com", "AE"), make_user("csm@example.com", "CSM")


class Spy:
    """Counts calls of a module function while still running it."""

    def __init__(self, monkeypatch, module, name):
        self.calls = 0
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)


def store_rows(var_dir: Path) -> list[tuple]:
    con = duckdb.connect(str(var_dir / usage_store.STORE_NAME), read_only=True)
    try:
        return con.execute("SELECT account, metric, date, value FROM usage ORDER BY 1, 2, 3").fetchall()
    finally:
        con.close()


def test_the_default_signals_compile_so_the_pass_reads_them_from_the_query():
    # given the seeded configuration, when it is compiled, then no signal is left to the engine
    compiled = pushdown.compile_signals(selectors.scoring_config_load(), AS_OF)
    assert compiled.refused == {}
    assert compiled.signals


def test_an_unchanged_pass_reuses_its_readings_and_a_changed_day_computes_them_again(owners, monkeypatch):
    ae, csm = owners
    account = make_account("R-1", ae=ae, csm=csm)
    write_usage(account, HOT, start=-100)
    runs = Spy(monkeypatch, readings, "_run")

    first = scoring_pass_run(as_of=when(0, hour=1))
    assert (first.eqls_created, runs.calls) == (1, 1)
    files = list((Path(readings.settings.VAR_DIR) / "readings").glob("*.parquet"))
    assert len(files) == 1

    # when nothing changed, the next pass reads the same file and runs no query
    second = scoring_pass_run(as_of=when(0, hour=2))
    assert (second.eqls_unchanged, runs.calls) == (1, 1)

    # when a day of usage is rewritten, the query runs again and the EQL follows the new value
    set_latest(account, "seats_active", 49)
    third = scoring_pass_run(as_of=when(0, hour=3))
    assert (third.eqls_updated, runs.calls) == (1, 2)
    assert EQL.objects.get().triggered_signals[0]["value"] == 0.98


def test_a_chunk_without_the_readings_file_computes_the_same_readings(owners):
    ae, csm = owners
    for i, metrics in enumerate([HOT, QUIET, {"seats_active": 46}]):
        write_usage(make_account(f"R-{i}", ae=ae, csm=csm), metrics, start=-40)
    config = selectors.scoring_config_load()
    path = readings.pass_readings_prepare(config=config, as_of=AS_OF)
    accounts = selectors.accounts_frame(pk_range=(0, 10**9))
    from_file = readings.readings_for(config=config, as_of=AS_OF, accounts=accounts, path=path)
    computed = readings.readings_for(config=config, as_of=AS_OF, accounts=accounts, path=str(path) + ".gone")
    for key in from_file.signals:
        np.testing.assert_array_equal(from_file.signals[key].value, computed.signals[key].value, key)
        np.testing.assert_array_equal(from_file.signals[key].fired, computed.signals[key].fired, key)


def test_the_usage_store_rebuilds_for_an_unknown_database_then_rereads_only_changed_days(owners, monkeypatch):
    ae, csm = owners
    account = make_account("S-1", ae=ae, csm=csm)
    write_usage(account, {"seats_active": 10}, start=-3)
    first_date = AS_OF - dt.timedelta(days=30)

    path, version = usage_store.usage_store_refresh(first_date=first_date)
    rows = store_rows(path.parent)
    assert len(rows) == 4 * len(QUIET)
    assert UsageStoreState.objects.count() == 1

    # an unchanged database: the same version, nothing read
    reads = Spy(monkeypatch, usage_store, "_rows")
    assert usage_store.usage_store_refresh(first_date=first_date)[1] == version
    assert reads.calls == 0

    # a rewritten day (recorded by its writer) and a new day are read, nothing else
    set_latest(account, "seats_active", 42)
    UsageSnapshot.objects.create(
        account=account,
        metric_id=UsageSnapshot.objects.first().metric_id,
        date=AS_OF + dt.timedelta(days=1),
        value=7,
    )
    _, changed = usage_store.usage_store_refresh(first_date=first_date)
    assert changed != version
    assert reads.calls == 2
    rows = store_rows(path.parent)
    assert (account.pk, "seats_active", AS_OF, 42.0) in rows
    assert len(rows) == 4 * len(QUIET) + 1

    # a store this database does not know (its state row is gone, e.g. a restored database) is rebuilt
    UsageStoreState.objects.all().delete()
    _, rebuilt = usage_store.usage_store_refresh(first_date=first_date)
    assert rebuilt.split(":")[0] != changed.split(":")[0]
    assert len(store_rows(path.parent)) == 4 * len(QUIET) + 1


def test_the_usage_store_drops_days_no_pass_reads_any_more(owners):
    ae, csm = owners
    account = make_account("S-old", ae=ae, csm=csm)
    write_usage(account, {"seats_active": 10}, start=-60)
    first_date = AS_OF - dt.timedelta(days=40)
    path, version = usage_store.usage_store_refresh(first_date=first_date)
    oldest = min(row[2] for row in store_rows(path.parent))
    assert oldest == first_date - dt.timedelta(days=usage_store.SPARE_DAYS)

    # a month later the passes read from a later day: the older days go, the version stays
    later = first_date + dt.timedelta(days=30)
    assert usage_store.usage_store_refresh(first_date=later)[1] == version
    days = {row[2] for row in store_rows(path.parent)}
    assert min(days) == later - dt.timedelta(days=usage_store.SPARE_DAYS)
    assert UsageStoreState.objects.get().first_date == min(days)


def usage_parquet(folder: Path, values: dict[str, dict[str, float]], days: int = 40) -> None:
    """Long usage rows (account_id, date, metric, value) for ``days`` days ending at AS_OF."""
    account_ids, dates, metrics, numbers = [], [], [], []
    for account_id, overrides in values.items():
        for metric, value in {**QUIET, **overrides}.items():
            for offset in range(-days + 1, 1):
                account_ids.append(account_id)
                dates.append(AS_OF + dt.timedelta(days=offset))
                metrics.append(metric)
                numbers.append(str(value))
    (folder / "usage").mkdir(parents=True, exist_ok=True)
    table = pa.table({"account_id": account_ids, "date": dates, "metric": metrics, "value": numbers})
    pq.write_table(table, folder / "usage" / "part-1.parquet")


def sync_lake() -> None:
    call_command("sync_source", "lake", "--json", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def in_place(tmp_path, owners):
    ae, csm = owners
    make_account("P-hot", ae=ae, csm=csm)
    make_account("P-quiet", ae=ae, csm=csm)
    folder = tmp_path / "lake"
    usage_parquet(folder, {"P-hot": HOT, "P-quiet": {}})
    return WarehouseSource.objects.create(
        name="lake", kind="parquet", location=str(folder), score_in_place=True
    )


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_a_source_scored_in_place_is_validated_by_sync_and_never_copied(in_place, settings, mode):
    settings.SCORING_PUSHDOWN = mode
    sync_lake()
    assert UsageSnapshot.objects.count() == 0

    result = scoring_pass_run(as_of=when(0, hour=1))

    assert result.eqls_created == 1
    assert EQL.objects.get().account.account_id == "P-hot"
    assert UsageSnapshot.objects.count() == 0


def test_a_rejected_in_place_batch_stops_the_pass_and_keeps_the_eqls(in_place):
    sync_lake()
    scoring_pass_run(as_of=when(0, hour=1))
    before = list(EQL.objects.values_list("pk", "updated_at", "score"))

    # a new file with a bad value: the sync rejects it, and the pass refuses to read the source
    bad = pa.table(
        {
            "account_id": ["P-hot"],
            "date": [AS_OF + dt.timedelta(days=1)],
            "metric": ["seats_active"],
            "value": ["lots"],
        }
    )
    pq.write_table(bad, Path(in_place.location) / "usage" / "part-2.parquet")
    with pytest.raises(CommandError, match="not loaded"):
        sync_lake()
    with pytest.raises(readings.SourceUnavailable, match="rejected its usage"):
        scoring_pass_run(as_of=when(0, hour=2))

    assert ScoringPass.objects.order_by("-pk").first().status == PassStatus.FAILED
    assert list(EQL.objects.values_list("pk", "updated_at", "score")) == before


def test_a_source_scored_in_place_before_any_sync_is_a_clear_error(in_place):
    with pytest.raises(readings.SourceUnavailable, match=r"run manage\.py sync_source lake"):
        scoring_pass_run(as_of=when(0, hour=1))


def test_changed_day_ranges_are_read_once_each():
    d = dt.date
    ranges = [(d(2026, 3, 5), d(2026, 3, 5)), (d(2026, 3, 1), d(2026, 3, 4)), (d(2026, 3, 5), d(2026, 3, 5))]
    ranges += [(d(2026, 2, 1), d(2026, 2, 3)), (d(2026, 3, 9), d(2026, 3, 10))]
    # overlapping and touching ranges merge; days before the store's first day are dropped
    assert usage_store._merged_ranges(ranges, floor=d(2026, 2, 2)) == [
        (d(2026, 2, 2), d(2026, 2, 3)),
        (d(2026, 3, 1), d(2026, 3, 5)),
        (d(2026, 3, 9), d(2026, 3, 10)),
    ]
