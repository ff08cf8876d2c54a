"""The compiled signal SQL against the reference engine on random definitions and usage (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.config import (
    COMPARE_CHANGE,
    COMPARE_RATIO,
    COMPARE_VALUE,
    EXPANSION_MODULE,
    OPERATORS,
    PolicySpec,
    ScoringConfig,
    SignalSpec,
)
from scoring.engine import evaluate
from scoring.pushdown import compile_signals, duckdb_run, long_table, owned_frame, refusal

AS_OF = dt.date(2026, 3, 31)
MODULES = ("alpha", "beta", "gamma")
METRICS = ("m1", "m2", "m3", *(f"fam:{m}" for m in MODULES))
VALUES = [None, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.5]
THRESHOLDS = [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0]

SETTINGS = settings(
    max_examples=int(os.environ.get("PUSHDOWN_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def signal_specs(draw, key: str) -> SignalSpec:
    metric = draw(st.sampled_from(["m1", "m2", "fam:*"]))
    denominator = draw(st.sampled_from(["", "", "metric", "field"]))
    return SignalSpec(
        key=key,
        name=key,
        metric=metric,
        threshold=draw(st.sampled_from(THRESHOLDS)),
        operator=draw(st.sampled_from(OPERATORS)),
        compare=draw(st.sampled_from([COMPARE_VALUE, COMPARE_CHANGE, COMPARE_RATIO])),
        denominator_metric="m3" if denominator == "metric" else "",
        denominator_field=draw(
            st.sampled_from(["seats_licensed", "contract_arr", "tenure_days", "health_score"])
        )
        if denominator == "field"
        else "",
        window_days=draw(st.integers(0, 6)),
        persistence_days=draw(st.integers(1, 4)),
        points=10,
        expansion_type=EXPANSION_MODULE if metric.endswith(":*") else "seats",
    )


@st.composite
def worlds(draw):
    n = draw(st.integers(1, 5))
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{pk}" for pk in range(1, n + 1)],
            "segment": "SMB",
            "plan_tier": "Starter",
            "status": "active",
            "contract_arr": [draw(st.sampled_from([0.0, 10.0, 100.0])) for _ in range(n)],
            "customer_since": [
                AS_OF - dt.timedelta(days=draw(st.sampled_from([0, 3, 40]))) for _ in range(n)
            ],
            "health_score": [draw(st.sampled_from([math.nan, 0.0, 50.0])) for _ in range(n)],
            "seats_licensed": [draw(st.sampled_from([0, 2, 10])) for _ in range(n)],
            "api_limit_30d": 0,
            "owned_modules": [
                draw(st.lists(st.sampled_from(MODULES), unique=True, max_size=2)) for _ in range(n)
            ],
        },
        index=pd.Index(range(1, n + 1), name="account"),
    )
    accounts["customer_since"] = pd.to_datetime(accounts["customer_since"])
    rows = []
    # account pk n + 1 is unknown: its rows must be ignored
    for account in range(1, n + 2):
        for metric in draw(st.lists(st.sampled_from(METRICS), unique=True, max_size=len(METRICS))):
            # a run of days (some rows without a value), sometimes long enough to fold
            first, length = draw(st.integers(-2, 8)), draw(st.integers(0, 24))
            level = draw(st.sampled_from(VALUES[1:]))  # mostly steady, so persistence can hold
            for back in range(first, first + length):
                value = draw(st.sampled_from([level, level, level, *VALUES]))
                rows.append(
                    (account, AS_OF - dt.timedelta(days=back), metric, np.nan if value is None else value)
                )
    usage = pd.DataFrame(rows, columns=["account", "date", "metric", "value"])
    usage["date"] = pd.to_datetime(usage["date"])
    usage["value"] = usage["value"].astype(float)
    usage["account"] = usage["account"].astype("int64")
    specs = [draw(signal_specs(f"s{i}")) for i in range(draw(st.integers(1, 4)))]
    policy = PolicySpec(max_data_age_days=draw(st.integers(0, 3)))
    return accounts, usage, ScoringConfig(signals=tuple(specs), gates=(), policy=policy)


def engine_table(accounts, usage, config) -> pd.DataFrame:
    frame = evaluate(accounts, usage, config, AS_OF).signals_result
    return frame[["account", "signal", "value", "fired", "target"]]


def assert_same(engine: pd.DataFrame, sql: pd.DataFrame, config: ScoringConfig) -> None:
    families = {s.key for s in config.signals if s.is_module_family}
    left = engine.set_index(["account", "signal"]).sort_index()
    right = sql.set_index(["account", "signal"]).sort_index()
    assert list(right.index) == list(left.index)
    assert right["fired"].tolist() == left["fired"].tolist()
    np.testing.assert_allclose(
        right["value"].to_numpy(float), left["value"].to_numpy(float), rtol=1e-12, atol=0
    )
    is_family = left.index.get_level_values("signal").isin(families)
    assert right["target"][is_family].tolist() == left["target"][is_family].tolist()


@SETTINGS
@given(worlds())
def test_compiled_sql_on_duckdb_matches_the_engine(world):
    # Given random accounts, usage and signal definitions
    accounts, usage, config = world
    # When the compiled query runs on DuckDB fed from the same frames
    compiled = compile_signals(config, AS_OF)
    sql = duckdb_run(compiled, accounts=accounts, usage=usage)
    # Then every compiled signal has the engine's fired flag, reading and family target
    assert compiled.refused == {}
    assert_same(engine_table(accounts, usage, config), sql, config)


def test_text_denominator_field_is_refused_and_the_rest_compiles():
    # Given a signal dividing by a text field next to an ordinary one
    good = SignalSpec(key="ok", name="ok", metric="m1", threshold=1.0)
    bad = dataclasses.replace(good, key="bad", denominator_field="segment")
    # When compiled
    compiled = compile_signals(ScoringConfig(signals=(good, bad), gates=()), AS_OF)
    # Then the text field is refused with a reason and only "ok" is answered
    assert compiled.signals == ("ok",)
    assert compiled.refused == {
        "bad": "signal 'bad': denominator field 'segment' is text, not a number; only the engine evaluates it"
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"operator": "between"}, "signal 'x': unknown operator 'between'"),
        ({"compare": "slope"}, "signal 'x': unknown compare 'slope'"),
        ({"window_days": -1}, "signal 'x': window_days must not be negative"),
        ({"denominator_metric": "fam:*"}, "signal 'x': a module family cannot be a denominator"),
        ({"denominator_field": "shoe_size"}, "signal 'x': unknown denominator field 'shoe_size'"),
    ],
)
def test_refusals_name_the_signal_and_the_reason(change, reason):
    spec = dataclasses.replace(SignalSpec(key="x", name="x", metric="m1", threshold=1.0), **change)
    assert refusal(spec) == reason


def test_no_compilable_signal_gives_an_empty_table():
    accounts = pd.DataFrame({"customer_since": pd.to_datetime([AS_OF])}, index=pd.Index([1], name="account"))
    compiled = compile_signals(ScoringConfig(signals=(), gates=()), AS_OF)
    result = duckdb_run(
        compiled,
        accounts=accounts,
        usage=pd.DataFrame(
            {"account": [1], "date": pd.to_datetime([AS_OF]), "metric": ["m1"], "value": [1.0]}
        ),
    )
    assert list(result.columns) == ["account", "signal", "value", "threshold", "fired", "target"]
    assert len(result) == 0


# --------------------------------------------------------------------------------------------------
# PostgreSQL: the same query transpiled, over temp tables of the test database
# --------------------------------------------------------------------------------------------------


def _postgres_run(compiled, accounts: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    from django.db import connection

    from scoring.pushdown import accounts_table

    acc = accounts_table(accounts, compiled)
    own = owned_frame(accounts)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS usage, accounts, owned")
        cur.execute(
            "CREATE TEMP TABLE usage (account bigint, metric text, date date, value double precision)"
        )
        cur.execute(
            "CREATE TEMP TABLE accounts (account bigint, customer_since date, contract_arr double precision, "
            "health_score double precision, seats_licensed double precision, api_limit_30d double precision)"
        )
        cur.execute('CREATE TEMP TABLE owned (account bigint, module text COLLATE "C")')

        def clean(v):
            return None if isinstance(v, float) and math.isnan(v) else v

        cur.executemany(
            "INSERT INTO usage VALUES (%s, %s, %s, %s)",
            [(int(a), m, d.date(), clean(float(v))) for a, d, m, v in usage.itertuples(index=False)],
        )
        cur.executemany(
            "INSERT INTO accounts VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    int(r.account),
                    None if pd.isna(r.customer_since) else r.customer_since.date(),
                    clean(r.contract_arr),
                    clean(r.health_score),
                    clean(r.seats_licensed),
                    clean(r.api_limit_30d),
                )
                for r in acc.itertuples(index=False)
            ],
        )
        cur.executemany(
            "INSERT INTO owned VALUES (%s, %s)", [(int(a), m) for a, m in own.itertuples(index=False)]
        )
        cur.execute(compiled.sql)
        columns = [c.name for c in cur.description]
        rows = cur.fetchall()
        cur.execute("DROP TABLE usage, accounts, owned")
    wide = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column.startswith(("v", "l")):
            wide[column] = pd.to_numeric(wide[column], errors="coerce").astype(float)
    return long_table(wide, compiled)


@pytest.mark.postgres
@pytest.mark.django_db
@SETTINGS
@given(worlds())
def test_compiled_sql_on_postgres_matches_the_engine(world):
    # Given random accounts, usage and signal definitions loaded into temp tables of the test database
    accounts, usage, config = world
    # When the query, transpiled to PostgreSQL, runs there
    compiled = compile_signals(config, AS_OF, dialect="postgres")
    sql = _postgres_run(compiled, accounts, usage)
    # Then it agrees with the engine as on DuckDB
    assert_same(engine_table(accounts, usage, config), sql, config)


# --------------------------------------------------------------------------------------------------
# Fixed examples: rules a random search reaches rarely, checked on both sides against known answers
# --------------------------------------------------------------------------------------------------


def _one_account(owned=()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1"],
            "segment": "SMB",
            "plan_tier": "Starter",
            "status": "active",
            "contract_arr": [100.0],
            "customer_since": pd.to_datetime([AS_OF - dt.timedelta(days=400)]),
            "health_score": [80.0],
            "seats_licensed": [10],
            "api_limit_30d": 0,
            "owned_modules": [list(owned)],
        },
        index=pd.Index([1], name="account"),
    )


def _usage(rows) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(1, AS_OF - dt.timedelta(days=back), metric, float(v)) for back, metric, v in rows],
        columns=["account", "date", "metric", "value"],
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _both(accounts, usage, config) -> tuple[pd.Series, pd.Series]:
    engine = engine_table(accounts, usage, config).set_index("signal")
    sql = duckdb_run(compile_signals(config, AS_OF), accounts=accounts, usage=usage).set_index("signal")
    return engine.loc["s"], sql.loc["s"]


def test_a_stale_account_never_fires_and_has_no_reading():
    # Given readings well over the threshold, last seen 5 days ago, and data older than 2 days is stale
    config = ScoringConfig(
        signals=(SignalSpec(key="s", name="s", metric="m1", threshold=1.0),),
        gates=(),
        policy=PolicySpec(max_data_age_days=2),
    )
    usage = _usage([(5, "m1", 5.0), (6, "m1", 5.0)])
    # When both sides evaluate it
    for side in _both(_one_account(), usage, config):
        # Then it does not fire and shows no (old) reading
        assert bool(side["fired"]) is False
        assert math.isnan(side["value"])


def test_days_beyond_the_horizon_keep_the_latest_value_not_the_earliest():
    # Given a change over 3 days (a 5-day horizon): 10 today, then nothing until beyond the horizon,
    # where the metric read 9 five days ago and 1 six days ago
    spec = SignalSpec(
        key="s", name="s", metric="m1", threshold=1.0, operator="eq", compare=COMPARE_CHANGE, window_days=3
    )
    config = ScoringConfig(signals=(spec,), gates=(), policy=PolicySpec(max_data_age_days=0))
    assert config.lookback_days + config.policy.max_data_age_days + 1 == 5
    usage = _usage([(0, "m1", 10.0), (5, "m1", 9.0), (6, "m1", 1.0)])
    for side in _both(_one_account(), usage, config):
        # Then the past value is the latest old one (9): the change is 1, which fires "eq 1"
        assert side["value"] == 1.0
        assert bool(side["fired"]) is True


def test_a_module_tie_goes_to_the_first_module_by_name():
    # Given two modules the account does not own, both at the same firing reading
    spec = SignalSpec(key="s", name="s", metric="fam:*", threshold=2.0, expansion_type=EXPANSION_MODULE)
    config = ScoringConfig(signals=(spec,), gates=(), policy=PolicySpec(max_data_age_days=1))
    usage = _usage([(0, "fam:gamma", 3.0), (0, "fam:beta", 3.0), (0, "fam:alpha", 1.0)])
    for side in _both(_one_account(owned=()), usage, config):
        # Then the first by name of the tied ones wins
        assert side["target"] == "beta"
        assert side["value"] == 3.0
    # and an owned module never wins, even with the highest reading
    usage = _usage([(0, "fam:alpha", 9.0), (0, "fam:beta", 3.0)])
    for side in _both(_one_account(owned=("alpha",)), usage, config):
        assert side["target"] == "beta"
