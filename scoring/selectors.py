"""ORM reads that build what the pure engine needs: configuration, accounts, the snapshot window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from django.db import connection
from django.db.models import Count

from expansion.models import EQL, OPEN_STATUSES, Account, Expansion, Metric, ProductEvent, UsageSnapshot
from scoring import config as cfg
from scoring.models import EqlPolicy, Gate, SignalCondition, SignalDefinition, TriggerCrossing

ACCOUNT_COLUMNS = (
    "pk",
    "account_id",
    "name",
    "segment",
    "plan_tier",
    "status",
    "contract_arr",
    "customer_since",
    "health_score",
    "seats_licensed",
    "api_limit_30d",
    "owned_modules",
    "ae_id",
    "csm_id",
)


def signal_spec(signal: SignalDefinition) -> cfg.SignalSpec:
    return cfg.SignalSpec(
        key=signal.key,
        name=signal.name,
        metric=signal.metric,
        threshold=float(signal.threshold),
        operator=signal.operator,
        compare=signal.compare,
        denominator_metric=signal.denominator_metric,
        denominator_field=signal.denominator_field,
        window_days=signal.window_days,
        persistence_days=max(1, signal.persistence_days),
        points=signal.points,
        priority=signal.priority,
        expansion_type=signal.expansion_type,
        target=signal.target,
        default_uplift=float(signal.default_uplift),
        opening_angle=signal.opening_angle,
        hypothesis=signal.hypothesis,
        discovery_questions=tuple(q.strip() for q in signal.discovery_questions.splitlines() if q.strip()),
        conditions=tuple(c.as_spec() for c in signal.conditions.all()) if signal.pk else (),
        segments=_listed(signal.segments),
        tiers=_listed(signal.tiers),
        cooldown_days=signal.cooldown_days,
        delay_hours=signal.delay_hours,
        deliver_hour=signal.deliver_hour,
        evaluate_on_arrival=signal.evaluate_on_arrival,
    )


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(cfg.LIST_SEPARATOR) if part.strip())


def gate_spec(gate: Gate) -> cfg.GateSpec:
    return cfg.GateSpec(
        name=gate.name,
        subject=gate.subject,
        operator=gate.operator,
        value=gate.value,
        action=gate.action,
        skip_if_missing=gate.skip_if_missing,
        segments=tuple(s.strip() for s in gate.segments.split(";") if s.strip()),
        order=gate.order,
    )


def policy_load() -> EqlPolicy:
    return EqlPolicy.objects.order_by("pk").first() or EqlPolicy.objects.create()


def policy_lock() -> EqlPolicy:
    """The policy row, locked until the transaction ends (the scheduler's mutex)."""
    policy_load()
    return EqlPolicy.objects.select_for_update().order_by("pk").first()


def policy_spec(policy: EqlPolicy) -> cfg.PolicySpec:
    return cfg.PolicySpec(
        score_threshold=policy.score_threshold,
        min_expansion_pct=float(policy.min_expansion_pct),
        suppression_days=policy.suppression_days,
        max_data_age_days=policy.max_data_age_days,
        min_calibration_samples=policy.min_calibration_samples,
    )


def config_version() -> int:
    """A number that grows with every saved change to signals, gates, policies or routing rules."""
    from routing.models import RoutingRule, SlaPolicy

    models = (SignalDefinition, SignalCondition, Gate, EqlPolicy, RoutingRule, SlaPolicy)
    return sum(m.history.count() for m in models)


def scoring_config_load() -> cfg.ScoringConfig:
    """The active configuration as the engine's frozen dataclasses."""
    signals = tuple(
        signal_spec(s) for s in SignalDefinition.objects.filter(active=True).prefetch_related("conditions")
    )
    gates = tuple(gate_spec(g) for g in Gate.objects.filter(active=True))
    return cfg.ScoringConfig(
        signals=signals, gates=gates, policy=policy_spec(policy_load()), version=config_version()
    )


def accounts_frame(
    *, pk_range: tuple[int, int] | None = None, pks: Iterable[int] | None = None
) -> pd.DataFrame:
    """Accounts indexed by pk with the columns the engine reads (money as float)."""
    qs = Account.objects.all()
    if pk_range is not None:
        qs = qs.filter(pk__gte=pk_range[0], pk__lte=pk_range[1])
    if pks is not None:
        qs = qs.filter(pk__in=list(pks))
    frame = pd.DataFrame.from_records(list(qs.values_list(*ACCOUNT_COLUMNS)), columns=list(ACCOUNT_COLUMNS))
    frame["contract_arr"] = frame["contract_arr"].astype(float)
    frame["health_score"] = pd.to_numeric(frame["health_score"], errors="coerce").astype(float)
    frame["customer_since"] = pd.to_datetime(frame["customer_since"])
    return frame.set_index("pk").rename_axis("account")


def trigger_facts_add(accounts: pd.DataFrame, *, config: cfg.ScoringConfig, at: dt.datetime) -> pd.DataFrame:
    """``accounts`` with the per-account facts the triggers of ``config`` read beyond the account row:
    ``cooldown:<key>`` (the trigger produced an EQL within its cooldown days before ``at``),
    ``crossed:<key>`` and ``timezone`` for timed triggers, ``events:<name>:<days>`` counts.
    A few queries per chunk, none per account."""
    pks = accounts.index.tolist()
    if not pks:
        return accounts
    lo, hi = min(pks), max(pks)
    extra: dict[str, pd.Series] = {}
    cooling = [s for s in config.signals if s.cooldown_days > 0]
    if cooling:
        oldest = at - dt.timedelta(days=max(s.cooldown_days for s in cooling))
        produced = EQL.objects.filter(
            account_id__gte=lo, account_id__lte=hi, created_at__gt=oldest
        ).values_list("account_id", "created_at", "primary_signal", "triggered_signals")
        last: dict[tuple[int, str], dt.datetime] = {}
        for account, created, primary, triggered in produced:
            keys = {primary, *(t.get("signal") for t in triggered or [] if isinstance(t, dict))}
            for key in keys - {None, ""}:
                if created > last.get((account, key), oldest):
                    last[(account, key)] = created
        # An open EQL keeps every trigger it has (dedup refreshes it); a cooldown holds back new ones.
        open_ = set(
            EQL.objects.filter(account_id__gte=lo, account_id__lte=hi, status__in=OPEN_STATUSES).values_list(
                "account_id", flat=True
            )
        )
        for spec in cooling:
            cutoff = at - dt.timedelta(days=spec.cooldown_days)
            hot = {a for (a, k), when in last.items() if k == spec.key and when > cutoff and a not in open_}
            extra[cfg.cooldown_column(spec.key)] = pd.Series(
                accounts.index.isin(list(hot)), index=accounts.index
            )
    timed = [s.key for s in config.signals if s.is_timed]
    if timed:
        seen = pd.DataFrame.from_records(
            list(
                TriggerCrossing.objects.filter(
                    account_id__gte=lo, account_id__lte=hi, signal_key__in=timed
                ).values_list("account_id", "signal_key", "first_seen_at")
            ),
            columns=["account", "key", "first_seen_at"],
        )
        for key in timed:
            mine = seen[seen["key"] == key].set_index("account")["first_seen_at"]
            extra[cfg.crossed_column(key)] = pd.to_datetime(mine.reindex(accounts.index), utc=True)
        zones = dict(Account.objects.filter(pk__gte=lo, pk__lte=hi).values_list("pk", "timezone"))
        extra["timezone"] = pd.Series([zones.get(pk, "") for pk in accounts.index], index=accounts.index)
    for (event, days), counts in _event_counts(config, at=at, pk_range=(lo, hi)).items():
        extra[cfg.event_column(event, days)] = counts.reindex(accounts.index, fill_value=0).astype(float)
    if not extra:
        return accounts
    return pd.concat([accounts, pd.DataFrame(extra, index=accounts.index)], axis=1)


def _event_counts(
    config: cfg.ScoringConfig, *, at: dt.datetime, pk_range: tuple[int, int]
) -> dict[tuple[str, int], pd.Series]:
    """(event, days) -> events per account pk in the ``days`` days up to ``at``."""
    wanted = {
        (c.subject, c.window_days)
        for s in config.signals
        for c in s.conditions
        if c.kind == cfg.CONDITION_EVENT_COUNT
    }
    out = {}
    for event, days in sorted(wanted):
        rows = (
            ProductEvent.objects.filter(
                account_id__gte=pk_range[0],
                account_id__lte=pk_range[1],
                event=event,
                occurred_at__gt=at - dt.timedelta(days=days),
                occurred_at__lte=at,
            )
            .values("account_id")
            .annotate(n=Count("pk"))
            .values_list("account_id", "n")
        )
        out[(event, days)] = pd.Series(dict(rows), dtype=float)
    return out


def arrival_event_names(config: cfg.ScoringConfig) -> set[str]:
    """Events whose arrival scores their accounts at once (event conditions of on-arrival triggers)."""
    return {
        c.subject
        for s in config.signals
        if s.evaluate_on_arrival
        for c in s.conditions
        if c.kind == cfg.CONDITION_EVENT_COUNT
    }


PUSHDOWN_ACCOUNT_COLUMNS = (
    "pk",
    "account_id",
    "customer_since",
    "contract_arr",
    "health_score",
    "seats_licensed",
    "api_limit_30d",
    "owned_modules",
)


def pushdown_accounts_frame(*, pks: Iterable[int] | None = None) -> pd.DataFrame:
    """What the compiled signal query reads of each account (index pk): the warehouse account_id, the
    numeric fields a denominator may use, customer_since and the owned modules."""
    qs = Account.objects.order_by("pk")
    if pks is not None:
        qs = qs.filter(pk__in=list(pks))
    frame = pd.DataFrame.from_records(
        list(qs.values_list(*PUSHDOWN_ACCOUNT_COLUMNS)), columns=list(PUSHDOWN_ACCOUNT_COLUMNS)
    )
    frame["contract_arr"] = frame["contract_arr"].astype(float)
    frame["health_score"] = pd.to_numeric(frame["health_score"], errors="coerce").astype(float)
    frame["customer_since"] = pd.to_datetime(frame["customer_since"])
    return frame.set_index("pk").rename_axis("account")


def needed_windows(config: cfg.ScoringConfig, as_of: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(metric or family prefix, first day, last day) ranges the active signals and gates read.

    A signal reads its persistence days ending at the anchor (at most max_data_age_days before as_of)
    and, for change/multiple signals, the same days shifted back by window_days (with the same slack
    for "latest on or before"). Nothing else is read: the pass never loads the whole history.
    """
    slack = config.policy.max_data_age_days
    out: list[tuple[str, dt.date, dt.date]] = []
    for spec in config.reading_signals:
        first = as_of - dt.timedelta(days=slack + spec.persistence_days - 1)
        metrics = [spec.metric] + ([spec.denominator_metric] if spec.denominator_metric else [])
        for metric in metrics:
            out.append((metric, first, as_of))
            if spec.compare != cfg.COMPARE_VALUE and spec.window_days:
                past_last = as_of - dt.timedelta(days=spec.window_days)
                out.append((metric, first - dt.timedelta(days=spec.window_days + slack), past_last))
    for spec in config.signals:
        for c in spec.conditions:
            if c.kind == cfg.CONDITION_FAMILY_COUNT:
                out.append((c.metric, as_of - dt.timedelta(days=slack), as_of))
    for gate in config.gates:
        if gate.subject not in cfg.ACCOUNT_FIELDS:
            # a gate reads the metric's latest value within the days a pass reads at all
            back = config.lookback_days + slack
            out.append((gate.subject, as_of - dt.timedelta(days=back), as_of))
    return out


def _metric_ids(name: str, metrics: dict[str, int]) -> list[int]:
    if name.endswith(cfg.MODULE_WILDCARD):
        prefix = name[: -len(cfg.MODULE_WILDCARD)] + ":"
        return [pk for n, pk in metrics.items() if n.startswith(prefix)]
    return [metrics[name]] if name in metrics else []


def snapshot_window(
    config: cfg.ScoringConfig,
    as_of: dt.date,
    *,
    pk_range: tuple[int, int] | None = None,
    pks: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Long frame (account, date, metric, value) of just the days the configuration needs."""
    metrics = dict(Metric.objects.values_list("name", "pk"))
    names = {pk: name for name, pk in metrics.items()}
    ranges: dict[tuple[dt.date, dt.date], set[int]] = {}
    for metric, first, last in needed_windows(config, as_of):
        ids = _metric_ids(metric, metrics)
        if ids:
            ranges.setdefault((first, last), set()).update(ids)
    frames = []
    pk_list = list(pks) if pks is not None else None
    for (first, last), ids in ranges.items():
        # CAST: the date comes back as plain text, skipping the driver's per-row date conversion.
        # Only the model's table name and %s marks are formatted in; every value is a parameter.
        table, marks = UsageSnapshot._meta.db_table, ", ".join(["%s"] * len(ids))
        sql = f"SELECT account_id, CAST(date AS TEXT), metric_id, value FROM {table} WHERE metric_id IN"  # nosec B608: see above
        sql += f" ({marks}) AND date >= %s AND date <= %s"
        params: list = [*sorted(ids), first, last]
        if pk_range is not None:
            # "+ 0" keeps the planner on the (metric, date, account) index: a range on the account
            # would otherwise pick the (account, metric, date) key and read every day of each account.
            sql += " AND account_id + 0 >= %s AND account_id + 0 <= %s"
            params += [pk_range[0], pk_range[1]]
        if pk_list is not None:
            sql += f" AND account_id IN ({', '.join(['%s'] * len(pk_list))})"
            params += pk_list
        frame = _read(sql, params)
        if len(frame):  # an empty (untyped) frame would turn every column of the concat into object
            frames.append(frame)
    if not frames:
        return pd.DataFrame({"account": [], "date": [], "metric": [], "value": []})
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(["account", "metric", "date"])
    # Name the metric ids through a categorical: one string per metric, not one per row.
    ids = frame["metric"].astype("category")
    frame["metric"] = ids.cat.rename_categories([names[i] for i in ids.cat.categories])
    return frame


def _read(sql: str, params: list) -> pd.DataFrame:
    """Run a snapshot query into a frame without per-row ORM conversion (dates arrive as ISO text)."""
    columns = ["account", "date", "metric", "value"]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=columns)
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame


def expansions_frame() -> pd.DataFrame:
    """Historical expansions for uplift calibration."""
    rows = Expansion.objects.values_list("status", "expansion_type", "expansion_arr", "contract_arr_at_close")
    frame = pd.DataFrame.from_records(
        list(rows), columns=["status", "expansion_type", "expansion_arr", "contract_arr_at_close"]
    )
    for column in ("expansion_arr", "contract_arr_at_close"):
        frame[column] = frame[column].astype(float)
    return frame


def open_eqls(*, pk_range: tuple[int, int]) -> dict[int, EQL]:
    """Open EQLs of the accounts in a pk range, by account pk."""
    qs = EQL.objects.filter(
        account_id__gte=pk_range[0], account_id__lte=pk_range[1], status__in=OPEN_STATUSES
    )
    return {e.account_id: e for e in qs}


def suppressed_until(*, pk_range: tuple[int, int], as_of: dt.datetime, days: int) -> dict[int, dt.datetime]:
    """Accounts whose last EQL closed less than ``days`` before as_of, with the date suppression ends."""
    since = as_of - dt.timedelta(days=days)
    rows = (
        EQL.objects.filter(
            account_id__gte=pk_range[0],
            account_id__lte=pk_range[1],
            closed_at__gt=since,
            closed_at__lte=as_of,
        )
        .values_list("account_id", "closed_at")
        .order_by("closed_at")
    )
    return {account: closed + dt.timedelta(days=days) for account, closed in rows}


def account_pk_chunks(chunk_size: int) -> list[tuple[int, int]]:
    """Inclusive pk ranges of at most ``chunk_size`` accounts each."""
    pks = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    return [(pks[i], pks[min(i + chunk_size, len(pks)) - 1]) for i in range(0, len(pks), chunk_size)]
