"""Dedup and suppression (scoring.dedup): the one rule, its vector form, and the backtest's replay of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import dedup
from scoring.backtest import _Simulation
from scoring.defaults import default_config


@pytest.mark.parametrize(
    ("qualifies", "has_open", "open_is_review", "suppressed", "action"),
    [
        (True, False, False, False, dedup.CREATE),  # a new EQL
        (False, False, False, False, dedup.CREATE),  # watch only: a new CSM review item
        (True, False, False, True, dedup.SUPPRESS),  # closed less than suppression_days ago
        (False, False, False, True, dedup.SUPPRESS),
        (True, True, False, False, dedup.REFRESH),  # one open EQL per account
        (False, True, False, False, dedup.REFRESH),  # a watch re-fire never downgrades a real EQL
        (True, True, True, False, dedup.UPGRADE),  # the CSM review item becomes a routed EQL
        (False, True, True, False, dedup.REFRESH),
        (True, True, False, True, dedup.REFRESH),  # an open EQL wins over an older closure
    ],
)
def test_dedup_action(qualifies, has_open, open_is_review, suppressed, action):
    assert (
        dedup.dedup_action(
            qualifies=qualifies, has_open=has_open, open_is_review=open_is_review, suppressed=suppressed
        )
        == action
    )


flags = st.lists(
    st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=40
)


@given(flags)
def test_the_vector_form_decides_as_the_rule_does(rows):
    q, o, r, s = (np.array(column, dtype=bool) for column in zip(*rows, strict=True))

    actions = dedup.dedup_actions(qualifies=q, has_open=o, open_is_review=r, suppressed=s)

    assert list(actions) == [
        dedup.dedup_action(qualifies=a, has_open=b, open_is_review=c, suppressed=d) for a, b, c, d in rows
    ]


# A history: per step, per account, 0 = nothing fires, 1 = only watch signals, 2 = qualifies.
histories = st.integers(1, 4).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 2), min_size=n, max_size=n), min_size=1, max_size=30)
)


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(1, 10), st.integers(0, 12), st.integers(1, 9))
def test_the_backtest_replays_the_rule_over_random_histories(history, step_days, suppression, window):
    # given: a configuration and a history of who fired what at each step (no expansions, so every
    # simulated EQL closes unmatched at the end of its match window)
    config = default_config()
    config = dataclasses.replace(
        config, policy=dataclasses.replace(config.policy, suppression_days=suppression)
    )
    n = len(history[0])
    sim = _Simulation(config, n, len(history), np.empty(0, np.int64), window)

    # when: the backtest steps through it
    for i, row in enumerate(history):
        frame = pd.DataFrame(
            {
                "qualifies": [v == 2 for v in row],
                "watch_only": [v == 1 for v in row],
                "blocked": False,
                "stale": False,
                "primary_signal": "s",
                "self_serve": False,
            }
        )
        sim.step(i, i * step_days, frame)

    # then: the EQLs it opened are those a pass applying dedup_action step by step would open, where
    # an open record lasts `window` days and a real EQL's close starts the suppression window
    expected = []
    for account in range(n):
        real_close = review_close = None
        for i, row in enumerate(history):
            day, value = i * step_days, row[account]
            if value == 0:
                continue
            real_open = real_close is not None and day < real_close
            review_open = review_close is not None and day < review_close
            action = dedup.dedup_action(
                qualifies=value == 2,
                has_open=real_open or review_open,
                open_is_review=review_open and not real_open,
                suppressed=not real_open and real_close is not None and day < real_close + suppression,
            )
            if value == 2 and action in (dedup.CREATE, dedup.UPGRADE):
                expected.append((account, day))
                real_close = day + window
            elif value == 1 and action == dedup.CREATE:
                review_close = day + window
    eqls = sim.eqls()
    assert sorted(zip(eqls["pos"].tolist(), eqls["created"].tolist(), strict=True)) == sorted(expected)
