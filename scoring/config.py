"""Plain, frozen descriptions of the scoring configuration the pure engine works from.

The admin-edited models in ``scoring.models`` are loaded into these by ``scoring.selectors`` so the
engine never touches the ORM (and a backtest can pass an edited, unsaved copy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PRIORITY_HIGH = "high"
PRIORITY_MEDIUM = "medium"
PRIORITY_WATCH = "watch"
PRIORITY_RANK = {PRIORITY_HIGH: 0, PRIORITY_MEDIUM: 1, PRIORITY_WATCH: 2}

#: How a signal's reading is formed from the metric.
COMPARE_VALUE = "value"  # metric (optionally / denominator) compared with the threshold
COMPARE_CHANGE = "change"  # metric now minus metric `window_days` ago
COMPARE_RATIO = "ratio"  # metric now divided by metric `window_days` ago

OPERATORS = ("gte", "gt", "lte", "lt", "eq", "ne")

EXPANSION_SEATS = "seats"
EXPANSION_TIER = "tier"
EXPANSION_MODULE = "module"
EXPANSION_NONE = ""  # watch signals: CSM judgment, no commercial target

TIER_ORDER = ("Starter", "Professional", "Business", "Enterprise")

#: A metric name ending in this suffix is a family with one metric per module,
#: e.g. ``gated_feature_views_14d:*`` reads ``gated_feature_views_14d:analytics`` etc.
MODULE_WILDCARD = ":*"

GATE_BLOCK = "block"
GATE_SELF_SERVE = "self_serve"

#: Account fields a gate or a denominator may read (``tenure_days`` is derived at ``as_of``).
ACCOUNT_FIELDS = (
    "status",
    "segment",
    "plan_tier",
    "contract_arr",
    "tenure_days",
    "health_score",
    "seats_licensed",
    "api_limit_30d",
)


#: Kinds of a trigger's extra conditions (``ConditionSpec.kind``); all of a trigger's conditions must
#: hold besides its own metric clause. A ``metric`` or ``trend`` condition is read like a signal (same
#: compare, window and persistence arithmetic, wherever the signal arithmetic runs); the others are
#: decided from the account row: a ``field`` against a value or a set, the number of a module
#: family's metrics above zero, or the number of product events of one name in a window.
CONDITION_METRIC = "metric"
CONDITION_TREND = "trend"
CONDITION_FIELD = "field"
CONDITION_FAMILY_COUNT = "family_count"
CONDITION_EVENT_COUNT = "event_count"
CONDITION_KINDS = (
    CONDITION_METRIC,
    CONDITION_TREND,
    CONDITION_FIELD,
    CONDITION_FAMILY_COUNT,
    CONDITION_EVENT_COUNT,
)
#: ``operator`` values besides OPERATORS that a ``field`` condition takes: membership of a set.
SET_OPERATORS = ("in", "not_in")
TREND_DECLINING = "declining"
TREND_RISING = "rising"
#: Separator of a set's members, of ``watch_fired`` keys and of a string ``owned_modules`` (the export's
#: list separator).
LIST_SEPARATOR = ";"
#: Joins a trigger's key and a condition's position in the key of its hidden reading (``<signal>~<n>``).
CONDITION_KEY_SEPARATOR = "~"


@dataclass(frozen=True)
class ConditionSpec:
    """One extra condition of a trigger (see CONDITION_KINDS).

    metric/trend: ``metric`` (or a family ``name:*``) ``compare``d over ``window_days`` against
    ``threshold`` with ``operator``, held ``persistence_days`` days; a trend is a change over the window
    below zero (``declining``) or above it (``rising``). field: account field ``subject`` ``operator``
    ``value`` (a number, a text, or for in/not_in a ";"-separated set). family_count: how many metrics of
    the family ``metric`` read above zero on the anchor day, ``operator`` ``threshold``. event_count:
    events named ``subject`` in the last ``window_days`` days, ``operator`` ``threshold``.
    """

    kind: str
    metric: str = ""
    subject: str = ""
    operator: str = "gte"
    threshold: float = 0.0
    value: str = ""
    compare: str = COMPARE_VALUE
    denominator_metric: str = ""
    denominator_field: str = ""
    window_days: int = 0
    persistence_days: int = 1
    direction: str = TREND_DECLINING

    @property
    def reads_like_signal(self) -> bool:
        return self.kind in (CONDITION_METRIC, CONDITION_TREND)

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.value.split(LIST_SEPARATOR) if v.strip())


def event_column(event: str, window_days: int) -> str:
    """The accounts-frame column holding the count of ``event`` in the last ``window_days`` days."""
    return f"events:{event}:{int(window_days)}"


def cooldown_column(signal_key: str) -> str:
    """The accounts-frame column: True while ``signal_key`` is in its cooldown for the account."""
    return f"cooldown:{signal_key}"


def crossed_column(signal_key: str) -> str:
    """The accounts-frame column: when ``signal_key`` was first seen firing (NaT: not yet)."""
    return f"crossed:{signal_key}"


@dataclass(frozen=True)
class SignalSpec:
    key: str
    name: str
    metric: str
    threshold: float
    operator: str = "gte"
    compare: str = COMPARE_VALUE
    denominator_metric: str = ""
    denominator_field: str = ""
    window_days: int = 0
    persistence_days: int = 1
    points: int = 0
    priority: str = PRIORITY_MEDIUM
    expansion_type: str = EXPANSION_NONE
    target: str = ""  # module name or tier name; empty tier target = the next tier up
    default_uplift: float = 0.0
    opening_angle: str = ""
    hypothesis: str = ""
    discovery_questions: tuple[str, ...] = ()
    #: Every one of these must hold too (see ConditionSpec).
    conditions: tuple[ConditionSpec, ...] = ()
    #: Only accounts of these segments / plan tiers (empty: every one).
    segments: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    #: Days after this trigger last produced an EQL or a message for the account before it may again
    #: (0: no cooldown; dedup and the suppression after a closure still hold).
    cooldown_days: int = 0
    #: Hours after the trigger was first seen firing before it counts (0: at once).
    delay_hours: int = 0
    #: It counts only from the next business day at this local hour of the account's time zone
    #: after it was first seen firing (None: any time).
    deliver_hour: int | None = None
    #: Events that make the account be scored at once when they arrive (event_count conditions).
    evaluate_on_arrival: bool = False

    @property
    def is_watch(self) -> bool:
        return self.priority == PRIORITY_WATCH

    @property
    def is_module_family(self) -> bool:
        return self.metric.endswith(MODULE_WILDCARD)

    @property
    def lookback_days(self) -> int:
        """Days of snapshots before the anchor day this signal needs."""
        return self.window_days + self.persistence_days

    @property
    def has_metric(self) -> bool:
        """False: no metric clause of its own; its conditions alone decide (on fresh accounts)."""
        return bool(self.metric)

    @property
    def is_timed(self) -> bool:
        return self.delay_hours > 0 or self.deliver_hour is not None

    def condition_readings(self) -> tuple[SignalSpec, ...]:
        """The metric and trend conditions as hidden signals read like any other (keys ``key~n``)."""
        out = []
        for n, c in enumerate(self.conditions):
            if not c.reads_like_signal:
                continue
            if c.kind == CONDITION_TREND:
                compare, threshold = COMPARE_CHANGE, 0.0
                operator = "lt" if c.direction == TREND_DECLINING else "gt"
            else:
                compare, threshold, operator = c.compare, float(c.threshold), c.operator
            out.append(
                SignalSpec(
                    key=f"{self.key}{CONDITION_KEY_SEPARATOR}{n}",
                    name=f"{self.name} (condition {n + 1})",
                    metric=c.metric,
                    threshold=threshold,
                    operator=operator,
                    compare=compare,
                    denominator_metric=c.denominator_metric,
                    denominator_field=c.denominator_field,
                    window_days=c.window_days,
                    persistence_days=max(1, c.persistence_days),
                    priority=PRIORITY_WATCH,
                )
            )
        return tuple(out)


@dataclass(frozen=True)
class GateSpec:
    name: str
    subject: str  # an ACCOUNT_FIELDS name, or a metric name (latest value)
    operator: str
    value: str
    action: str = GATE_BLOCK
    skip_if_missing: bool = False
    segments: tuple[str, ...] = ()  # empty = every segment
    order: int = 0


@dataclass(frozen=True)
class PolicySpec:
    score_threshold: int = 60
    min_expansion_pct: float = 0.15
    suppression_days: int = 30
    max_data_age_days: int = 3
    min_calibration_samples: int = 10


@dataclass(frozen=True)
class ScoringConfig:
    signals: tuple[SignalSpec, ...]
    gates: tuple[GateSpec, ...]
    policy: PolicySpec = field(default_factory=PolicySpec)
    version: int = 0

    @property
    def reading_signals(self) -> tuple[SignalSpec, ...]:
        """What the signal arithmetic reads: every signal with a metric of its own, then every metric
        and trend condition."""
        own = tuple(s for s in self.signals if s.has_metric)
        return own + tuple(c for s in self.signals for c in s.condition_readings())

    @property
    def lookback_days(self) -> int:
        return max((s.lookback_days for s in self.reading_signals), default=1)


def signal_to_dict(spec: SignalSpec) -> dict[str, Any]:
    """A signal as plain JSON-able data (a Celery message, a stored backtest run)."""
    return dataclasses.asdict(spec)


def signal_from_dict(data: Mapping[str, Any]) -> SignalSpec:
    """The inverse of ``signal_to_dict``; unknown keys are ignored, lists become tuples."""
    names = {f.name for f in dataclasses.fields(SignalSpec)}
    values = {k: v for k, v in data.items() if k in names}
    for key in ("discovery_questions", "segments", "tiers"):
        values[key] = tuple(values.get(key) or ())
    values["conditions"] = tuple(
        c if isinstance(c, ConditionSpec) else ConditionSpec(**c) for c in values.get("conditions") or ()
    )
    return SignalSpec(**values)
