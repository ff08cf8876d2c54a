"""Plain, frozen descriptions of the scoring configuration the pure engine works from.

The admin-edited models in ``scoring.models`` are loaded into these by ``scoring.selectors`` so the
engine never touches the ORM (and a backtest can pass an edited, unsaved copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    def lookback_days(self) -> int:
        return max((s.lookback_days for s in self.signals), default=1)
