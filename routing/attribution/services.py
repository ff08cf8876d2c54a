"""Write side of Finance's split-credit log: record credit at close, record corrections, verify the chain.

Rules live in ``routing.attribution.rules`` (pure). Every write appends to one keyed hash chain
(HMAC-SHA256 under ``ATTRIBUTION_CHAIN_KEY``, chain version 2) under a lock: on PostgreSQL a
transaction-scoped advisory lock (it also covers the empty log, where there is no last row to
``select_for_update``); everywhere the last entry is read ``select_for_update``, SQLite's IMMEDIATE
transactions serialise writers, and the unique ``prev_hash`` constraint refuses a fork.

Each write signs the new head (entry count, last id and hash) while it still holds the lock and
publishes it once the transaction commits (``routing.attribution.anchors``), so a head is anchored
only if it was committed. ``chain_verify`` checks the table against those anchors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.db.models.functions import Lower
from django.utils import timezone

from expansion import formatting
from expansion.models import EQL, AttributionEntry, Role, User
from routing.attribution import rules
from routing.attribution.anchors import chain_key, publish_anchor, read_anchors
from routing.attribution.rules import SplitRefused

__all__ = [
    "SplitRefused",
    "chain_verify",
    "credit_correct",
    "credit_proposal",
    "credit_record",
    "signed_head",
]

#: pg_advisory_xact_lock key of the attribution chain ("ATTRCHN" as digits, any constant would do).
CHAIN_LOCK_KEY = 0x41545452_43484E
#: Entries read per round trip when the chain is verified.
VERIFY_CHUNK = 2000

#: The fields the hash covers, as model attribute names.
HASHED = rules.HASHED_FIELDS
#: What a verification reads per entry.
VERIFIED_FIELDS = ("id", "entry_hash", "chain_version", *HASHED)


def _person(user: User | None) -> rules.Person | None:
    if user is None:
        return None
    return rules.Person(id=user.pk, email=(user.email or "").lower(), role=user.role, active=user.is_active)


def _deal(eql: EQL, amount: Decimal) -> rules.Deal:
    account = eql.account
    actors = (
        User.objects.filter(activities__eql=eql)
        .distinct()
        .only("id", "email", "role", "is_active")
        .order_by("id")
    )
    return rules.Deal(
        eql_id=eql.pk,
        route=eql.route,
        csm_involvement_required=eql.csm_involvement_required,
        amount=amount,
        owner=_person(eql.owner),
        eql_csm=_person(eql.csm),
        account_ae=_person(account.ae),
        account_csm=_person(account.csm),
        activity_people=tuple(_person(u) for u in actors),
    )


def _people_by_email(splits: Sequence[Mapping] | None) -> dict[str, rules.Person]:
    emails = {str(s.get("email") or "").strip().lower() for s in splits or () if isinstance(s, Mapping)}
    emails.discard("")
    if not emails:
        return {}
    users = User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails)
    return {u.email_lower: _person(u) for u in users}


def _routing_basis(eql: EQL) -> dict:
    """The route facts behind the credit rule, as seen at close (routing rules can change later)."""
    from routing.models import RoutingRule

    route_rule = (eql.evaluation or {}).get("route_rule", "")
    active = list(RoutingRule.objects.filter(active=True).order_by("order", "id"))
    matched = next((r for r in active if route_rule and route_rule.startswith(r.name)), None)
    threshold = next(
        (
            r.estimate_value
            for r in active
            if r.route == "ae"
            and r.csm_involvement_required
            and r.estimate_comparison == "gte"
            and r.estimate_value is not None
        ),
        None,
    )
    return {
        "route": eql.route,
        "csm_involvement_required": bool(eql.csm_involvement_required),
        "route_rule": route_rule,
        "route_rule_conditions": _conditions(matched) if matched else "",
        "co_owned_threshold": None if threshold is None else str(rules.money(threshold)),
        "estimated_expansion_arr": str(rules.money(eql.estimated_expansion_arr or 0)),
        "primary_signal": eql.primary_signal,
        "expansion_type": eql.expansion_type,
    }


def _conditions(rule) -> str:
    parts = []
    if rule.when_watch_only is not None:
        parts.append(f"watch only = {rule.when_watch_only}")
    if rule.when_self_serve_gate is not None:
        parts.append(f"self-serve gate = {rule.when_self_serve_gate}")
    for label, value in (
        ("expansion type", rule.when_expansion_type),
        ("priority", rule.when_priority),
        ("segment", rule.when_segment),
        ("plan tier", rule.when_plan_tier),
        ("trigger", rule.when_signal),
    ):
        if value:
            parts.append(f"{label} = {value}")
    if rule.estimate_comparison and rule.estimate_value is not None:
        sign = "≥" if rule.estimate_comparison == "gte" else "<"
        amount = formatting.money(rule.estimate_value, currency=settings.REPORTING_CURRENCY, digits=2)
        parts.append(f"estimate {sign} {amount}")
    return "; ".join(parts) or "always"


def credit_proposal(*, eql: EQL) -> rules.Proposal:
    """What the close form proposes from the route (the closer confirms or changes a co-owned split)."""
    return rules.proposal_for(_deal(eql, eql.estimated_expansion_arr or Decimal("0")))


def _chain_head() -> str:
    """Take the chain lock and return the hash of the last entry (GENESIS when the log is empty)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    last = (
        AttributionEntry.objects.select_for_update()
        .order_by("-id")
        .values_list("entry_hash", flat=True)
        .first()
    )
    return last or rules.GENESIS_HASH


def _append(entries: Sequence[AttributionEntry]) -> list[AttributionEntry]:
    """Chain and insert entries in order, keyed; anchor the new head once the transaction commits.
    Call inside a transaction."""
    key = chain_key()
    prev = _chain_head()
    now = timezone.now()
    for entry in entries:
        entry.recorded_at = now
        entry.prev_hash = prev
        entry.chain_version = rules.CHAIN_KEYED
        entry.entry_hash = rules.keyed_entry_hash({name: getattr(entry, name) for name in HASHED}, key)
        entry.save()
        prev = entry.entry_hash
    # Still under the chain lock: the count and the last entry belong to one head.
    anchor = rules.sign_anchor(
        key=key,
        at=now,
        entries=AttributionEntry.objects.count(),
        last_id=entries[-1].pk,
        last_hash=prev,
        reason=rules.ANCHOR_WRITE,
    )
    transaction.on_commit(lambda: publish_anchor(anchor), robust=True)
    return list(entries)


def signed_head(reason: str) -> rules.Anchor:
    """The current head, signed (count and last id from one statement, so they agree)."""
    head = AttributionEntry.objects.aggregate(entries=Count("id"), last_id=Max("id"))
    last_hash = rules.GENESIS_HASH
    if head["last_id"] is not None:
        last_hash = AttributionEntry.objects.values_list("entry_hash", flat=True).get(pk=head["last_id"])
    return rules.sign_anchor(
        key=chain_key(),
        at=timezone.now(),
        entries=head["entries"],
        last_id=head["last_id"],
        last_hash=last_hash,
        reason=reason,
    )


@transaction.atomic
def credit_record(
    *,
    eql: EQL,
    amount: Decimal,
    closed_at: dt.datetime,
    recorded_by: User,
    splits: Sequence[Mapping] | None = None,
    note: str = "",
) -> list[AttributionEntry]:
    """Record the credit for a won EQL (rules in ``routing.attribution.rules``). Raises SplitRefused and
    writes nothing when the split or the win cannot be credited. Called by ``eql_transition`` inside
    its transaction, so a refusal refuses the whole event."""
    if AttributionEntry.objects.filter(eql_id=eql.pk).exists():
        raise SplitRefused(f"credit for EQL {eql.pk} is already recorded; record a correction instead")
    deal = _deal(eql, amount)
    credits = rules.credits_for_win(deal, splits, _people_by_email(splits))
    closed_at = timezone.localtime(closed_at)
    basis = {
        **_routing_basis(eql),
        "won_arr": str(rules.money(amount)),
        "owner": deal.owner.email if deal.owner else None,
        "eql_csm": deal.eql_csm.email if deal.eql_csm else None,
        "account_ae": deal.account_ae.email if deal.account_ae else None,
        "account_csm": deal.account_csm.email if deal.account_csm else None,
        "split": [{"email": line.email, "percent": line.percent} for line in rules.parse_splits(splits)],
        "closer": (recorded_by.email or "").lower(),
        "note": note.strip(),
    }
    entries = [
        AttributionEntry(
            eql_id=eql.pk,
            account_id=eql.account_id,
            person_id=c.person.id,
            role=c.person.role,
            credit_type=c.credit_type,
            percent=c.percent,
            amount=c.amount,
            period=rules.period_of(closed_at),
            closed_at=closed_at,
            rule=c.rule,
            basis=basis,
            reason=c.reason,
            recorded_by_id=recorded_by.pk,
            corrects=None,
        )
        for c in credits
    ]
    return _append(entries)


def _may_correct(user: User) -> bool:
    return bool(user.is_superuser or user.role == Role.REVOPS)


@transaction.atomic
def credit_correct(
    *,
    entry_id: int,
    recorded_by: User,
    reason: str,
    person_email: str | None = None,
    percent: int | None = None,
    amount: Decimal | None = None,
) -> tuple[AttributionEntry, AttributionEntry]:
    """Correct one entry with two new ones: a reversal (negative percent and amount, ``corrects`` =
    the entry) and a replacement with the corrected person, percent and/or amount. RevOps only; a
    reason is required; an entry is corrected at most once (correct its replacement after that).

    When only the percent changes, the amount follows it: won ARR x percent (from the close's basis)."""
    if not _may_correct(recorded_by):
        raise PermissionError("only RevOps may record a correction; Finance and the deal team read the log")
    reason = (reason or "").strip()
    if not reason:
        raise SplitRefused("a correction needs a reason")
    _chain_head()  # lock first, so two corrections of the same entry are serialised
    try:
        original = AttributionEntry.objects.select_related("person").get(pk=entry_id)
    except AttributionEntry.DoesNotExist:
        raise SplitRefused(f"there is no attribution entry {entry_id}") from None
    if original.rule == rules.RULE_REVERSAL:
        raise SplitRefused(f"entry {entry_id} is a reversal; correct the entry it replaced instead")
    if AttributionEntry.objects.filter(corrects_id=original.pk, rule=rules.RULE_REVERSAL).exists():
        raise SplitRefused(f"entry {entry_id} is already corrected; correct its replacement instead")

    person = original.person
    if person_email is not None:
        found = _people_by_email([{"email": person_email}]).get(person_email.strip().lower())
        if found is None:
            raise SplitRefused(f"nobody is registered with the email {person_email.strip().lower()}")
        if not found.active:
            raise SplitRefused(f"{found.email} is inactive and cannot get credit")
        person = User.objects.get(pk=found.id)
    new_percent = original.percent
    if percent is not None:
        new_percent = rules.whole_percent(percent, "replacement", minimum=0)
    if amount is not None:
        new_amount = rules.money(amount)
        if new_amount < 0:
            raise SplitRefused("a replacement amount must not be negative")
    elif percent is not None:
        won = Decimal((original.basis or {}).get("won_arr") or 0)
        if not won and original.percent:
            won = original.amount * 100 / original.percent
        new_amount = rules.share_of(won, new_percent)
    else:
        new_amount = original.amount
    if (person.pk, new_percent, rules.money(new_amount)) == (
        original.person_id,
        original.percent,
        rules.money(original.amount),
    ):
        raise SplitRefused("the replacement is the same as the entry; nothing to correct")

    common = {
        "eql_id": original.eql_id,
        "account_id": original.account_id,
        "credit_type": original.credit_type,
        "period": original.period,
        "closed_at": original.closed_at,
        "reason": reason,
        "recorded_by_id": recorded_by.pk,
        "corrects": original,
    }
    reversal = AttributionEntry(
        **common,
        person_id=original.person_id,
        role=original.role,
        percent=-original.percent,
        amount=-original.amount,
        rule=rules.RULE_REVERSAL,
        basis={"reverses": original.pk, "original_rule": original.rule},
    )
    replacement = AttributionEntry(
        **common,
        person_id=person.pk,
        role=person.role,
        percent=new_percent,
        amount=new_amount,
        rule=rules.RULE_REPLACEMENT,
        basis={
            "replaces": original.pk,
            "original_rule": original.rule,
            "was": {
                "person": original.person.email,
                "percent": original.percent,
                "amount": str(original.amount),
            },
        },
    )
    # The chain lock is already held by this transaction; _append re-reads the head under it.
    _append([reversal, replacement])
    return reversal, replacement


@dataclass(frozen=True)
class Verification:
    broken: rules.ChainBreak | None
    entries: int
    head: str
    anchors: int
    newest: rules.Anchor | None
    looked_in: str


def chain_verify(anchor_paths: Sequence[str] | None = None) -> Verification:
    """Recompute the chain from the table and check it against the signed anchors (the anchor file,
    or ``anchor_paths``). A log with entries and no anchor at all fails: nothing could tell that the
    newest entries were deleted."""
    key = chain_key()
    try:
        anchors, looked_in = read_anchors(anchor_paths)
    except rules.AnchorInvalid as exc:
        return Verification(rules.ChainBreak(None, str(exc), "anchor"), 0, rules.GENESIS_HASH, 0, None, "")
    newest = max(anchors, key=lambda a: a.entries, default=None)
    problem = rules.anchor_problem(anchors, key)
    if problem is not None:
        return Verification(problem, 0, rules.GENESIS_HASH, len(anchors), newest, looked_in)
    rows = AttributionEntry.objects.order_by("id").values(*VERIFIED_FIELDS).iterator(chunk_size=VERIFY_CHUNK)
    broken, count, head = rules.chain_break(rows, key, anchors)
    if broken is None and count and not anchors:
        broken = rules.ChainBreak(
            None,
            f"no signed anchor found in {looked_in}, so deleting the newest entries could not be "
            "detected. Pass copies of the anchors with --anchors (the anchor file's backup, collected "
            "log lines, Finance's signed head downloads); if they are lost, compare the table with a "
            "backup, then sign the current head with verify_attribution --anchor",
            "no-anchor",
        )
    return Verification(broken, count, head, len(anchors), newest, looked_in)
