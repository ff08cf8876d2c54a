"""Invariants of the pure scoring engine on random small account bases (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.config import PRIORITY_RANK, TIER_ORDER, PolicySpec, ScoringConfig
from scoring.defaults import default_config
from scoring.engine import evaluate

AS_OF = dt.date(2026, 3, 31)
MODULES = ("analytics", "reporting")
#: Values around each default threshold (None = no snapshot that day).
METRIC_VALUES = {
    "seats_active": [None, 5.0, 9.0, 10.0, 50.0, 90.0, 95.0],
    "api_calls_30d": [None, 100.0, 900.0, 50_000.0, 90_000.0],
    "automation_workflows": [None, 0.0, 19.0, 20.0, 30.0],
    "departments_active": [None, 1.0, 2.0, 3.0],
    "export_rows_30d": [None, 0.0, 100.0, 300.0],
    "gated_feature_views_14d:analytics": [None, 0.0, 3.0, 5.0],
    "gated_feature_views_14d:reporting": [None, 0.0, 3.0, 5.0],
}
#: Older single values that change and ratio signals compare with.
PAST_DAYS = {"departments_active": 30, "export_rows_30d": 90}

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def day(back: int) -> dt.date:
    return AS_OF - dt.timedelta(days=back)


@st.composite
def account_rows(draw, pk: int) -> dict:
    return {
        "account": pk,
        "account_id": f"A{pk}",
        "segment": draw(st.sampled_from(["SMB", "MidMarket", "Enterprise"])),
        "plan_tier": draw(st.sampled_from(TIER_ORDER)),
        "status": draw(st.sampled_from(["active"] * 5 + ["churned"])),
        "contract_arr": draw(st.sampled_from([0.0, 5_000.0, 19_999.0, 20_000.0, 100_000.0])),
        "customer_since": day(draw(st.sampled_from([60, 119, 120, 400, 400, 400]))),
        "health_score": draw(st.sampled_from([math.nan, 30.0, 60.0, 90.0, 90.0, 90.0])),
        "seats_licensed": draw(st.sampled_from([0, 10, 100])),
        "api_limit_30d": draw(st.sampled_from([0, 1_000, 100_000])),
        "owned_modules": draw(st.lists(st.sampled_from(MODULES), unique=True)),
    }


@st.composite
def bases(draw) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(accounts, snapshots on or before as_of, snapshots after as_of)."""
    n_accounts = draw(st.integers(1, 4))
    n_days = draw(st.integers(1, 10))
    rows, snaps, future = [], [], []
    for pk in range(1, n_accounts + 1):
        rows.append(draw(account_rows(pk)))
        # more than max_data_age_days (3) makes the account stale
        end_back = draw(st.sampled_from([0, 0, 0, 1, 3, 4]))
        for metric, choices in METRIC_VALUES.items():
            values = draw(st.lists(st.sampled_from(choices), min_size=n_days, max_size=n_days))
            snaps += [
                {"account": pk, "date": day(end_back + n_days - 1 - i), "metric": metric, "value": v}
                for i, v in enumerate(values)
                if v is not None
            ]
        for metric, back in PAST_DAYS.items():
            past = draw(st.sampled_from(METRIC_VALUES[metric]))
            if past is not None:
                snaps.append({"account": pk, "date": day(back + end_back), "metric": metric, "value": past})
        if draw(st.booleans()):
            future += [
                {"account": pk, "date": AS_OF + dt.timedelta(days=k), "metric": m, "value": 1e6}
                for m in METRIC_VALUES
                for k in (1, 2)
            ]
    columns = ["account", "date", "metric", "value"]
    accounts = pd.DataFrame(rows).set_index("account")
    return accounts, pd.DataFrame(snaps, columns=columns), pd.DataFrame(future, columns=columns)


@st.composite
def configs(draw) -> ScoringConfig:
    """The default config with random points (the cap at 100 gets exercised) and threshold."""
    base = default_config()
    signals = tuple(dataclasses.replace(s, points=draw(st.integers(0, 60))) for s in base.signals)
    policy = PolicySpec(score_threshold=draw(st.sampled_from([0, 40, 60, 100])))
    return dataclasses.replace(base, signals=signals, policy=policy)


def with_dates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(date=pd.to_datetime(frame["date"]))


@SETTINGS
@given(base=bases(), config=configs())
def test_score_and_qualification_invariants(base, config):
    accounts, snaps, _ = base

    evaluation = evaluate(accounts, with_dates(snaps), config, AS_OF)

    result = evaluation.accounts_result
    signals = evaluation.signals_result
    # score = min(100, sum of points of fired non-watch signals), always on 0..100
    scoring = signals[signals["fired"] & (signals["priority"] != "watch")]
    points = scoring.groupby("account")["points"].sum().reindex(accounts.index, fill_value=0)
    assert result["score"].between(0, 100).all()
    assert result["score"].tolist() == points.clip(upper=100).tolist()
    # a qualifying account passed the block gates, the threshold and the expansion floor
    qualifying = result[result["qualifies"]]
    floor = config.policy.min_expansion_pct * accounts.loc[qualifying.index, "contract_arr"]
    assert (~qualifying["blocked"]).all()
    assert (qualifying["score"] >= config.policy.score_threshold).all()
    assert (qualifying["estimate"] >= floor).all()
    assert (result["qualifies"] == (result["reason"] == "")).all()
    # only a fired signal counts
    assert not (signals["counts"] & ~signals["fired"]).any()
    for pk, row in result.iterrows():
        mine = signals[signals["account"] == pk]
        counting = mine[mine["counts"]]
        if row.primary_signal:
            # the primary signal is the best-ranked fired counting signal
            primary = mine[mine["signal"] == row.primary_signal].iloc[0]
            assert primary.fired
            assert primary.counts
            assert primary.priority != "watch"
            best = counting.assign(rank=counting["priority"].map(PRIORITY_RANK)).sort_values(
                ["points", "rank", "signal"], ascending=[False, True, True]
            )
            assert best.iloc[0]["signal"] == row.primary_signal
        else:
            assert counting.empty
            assert not row.qualifies
        if row.stale:
            assert not mine["fired"].any()
        if row.watch_only:
            assert (bool(row.blocked), bool(row.qualifies)) == (False, False)
            assert row.watch_fired


@SETTINGS
@given(base=bases(), config=configs())
def test_snapshots_after_as_of_change_nothing(base, config):
    accounts, snaps, future = base

    without = evaluate(accounts, with_dates(snaps), config, AS_OF)
    with_future = evaluate(accounts, with_dates(pd.concat([snaps, future], ignore_index=True)), config, AS_OF)

    pd.testing.assert_frame_equal(without.accounts_result, with_future.accounts_result)
    pd.testing.assert_frame_equal(without.signals_result, with_future.signals_result)
