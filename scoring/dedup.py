"""Dedup and suppression: what a scoring pass does with an account that qualifies or has a watch signal.

Pure, and the one statement of the rule (``spec/domain.md``, "EQL definition" and "Lifecycle"): the
hourly pass (``scoring.services``) and the backtest's replay (``scoring.backtest``) both call it.

For an account that is a candidate (it qualifies, or only watch signals fired):

- it has an open EQL: **refresh** it (new readings, score, estimate; a real EQL is never downgraded),
  except that a qualifying account whose open record is a CSM review item is **upgraded** in place to
  a routed EQL;
- it has none, and its last EQL closed less than ``suppression_days`` ago: **suppress** (nothing);
- otherwise **create** one: an EQL when it qualifies, a CSM review item when only watch signals fired.

One open EQL per account is also a database constraint; this decides what the pass asks for.
"""

from __future__ import annotations

import numpy as np

CREATE = "create"
REFRESH = "refresh"
UPGRADE = "upgrade"
SUPPRESS = "suppress"
ACTIONS = (CREATE, REFRESH, UPGRADE, SUPPRESS)


def dedup_action(*, qualifies: bool, has_open: bool, open_is_review: bool, suppressed: bool) -> str:
    """The action for one candidate account (see the module docstring)."""
    if has_open:
        return UPGRADE if qualifies and open_is_review else REFRESH
    return SUPPRESS if suppressed else CREATE


def dedup_actions(
    *, qualifies: np.ndarray, has_open: np.ndarray, open_is_review: np.ndarray, suppressed: np.ndarray
) -> np.ndarray:
    """``dedup_action`` for many accounts at once (boolean arrays of one length; an array of actions)."""
    qualifies, has_open = np.asarray(qualifies, bool), np.asarray(has_open, bool)
    open_is_review, suppressed = np.asarray(open_is_review, bool), np.asarray(suppressed, bool)
    return np.select(
        [has_open & qualifies & open_is_review, has_open, suppressed],
        [UPGRADE, REFRESH, SUPPRESS],
        default=CREATE,
    ).astype(object)
