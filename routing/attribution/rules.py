"""Pure split-credit rules (domain.md, "Split-credit activity log"). No ORM, no request, no settings.

Who gets what when an EQL is won (``credits_for_win``):

- **AE-owned** (route ``ae``, no CSM involvement required): the owner gets 100% **quota** credit.
- **Co-owned** (route ``ae`` with ``csm_involvement_required``, i.e. above the routing threshold or a
  module expansion): the closer must enter a contribution split: whole percentages from 1 to 100 that
  sum to exactly 100, at most one line per person, only people involved on the EQL or its account
  (owner, the EQL's CSM, the account's AE and CSM, anyone who logged an activity on the EQL), each
  active. Each line is a **quota** credit of that share of the amount.
- **Joint** (route ``joint``: AE and CSM both own it, seed 003's "AE + CSM joint outreach"): always
  co-owned, whatever the estimate; the closer enters the contribution split as above.
- **CSM-led** (routes ``csm``, ``self_serve`` and ``csm_review``): no quota credit. The CSM owner gets
  its "quota-style" credit as **attainment** only (100% of the amount).
- **Book attainment**: the CSM of the account's book (the account's CSM, else the EQL's CSM) gets an
  **attainment** entry for 100% of the amount on every win, unless that CSM already got one above.

Attainment is a bonus basis, not a share of one pot: the AE's quota credit and the book CSM's
attainment both count the same won ARR, as the case study's comp plan intends.

The log is a keyed hash chain: ``entry_hash = HMAC-SHA256(key, canonical content incl. prev_hash)``
(older entries: unkeyed SHA-256, see "the hash chain" below), anchored by signed heads kept outside
the table; ``chain_break`` finds the first entry whose hash, link or anchor does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

ROUTE_AE = "ae"
ROUTE_JOINT = "joint"
CSM_ROUTES = ("csm", "self_serve", "csm_review")

QUOTA = "quota"
ATTAINMENT = "attainment"

#: Credit rules an entry can record (the ``rule`` column).
RULE_AE_OWNER = "ae_owner"
RULE_CO_OWNED_SPLIT = "co_owned_split"
RULE_CSM_OWNER = "csm_owner"
RULE_BOOK_CSM = "book_csm"
RULE_REVERSAL = "reversal"
RULE_REPLACEMENT = "replacement"
RULE_LABELS = {
    RULE_AE_OWNER: "AE-owned: 100% quota credit to the owner",
    RULE_CO_OWNED_SPLIT: "Co-owned: contribution split entered at close",
    RULE_CSM_OWNER: "CSM-led: the CSM owner's credit, as attainment",
    RULE_BOOK_CSM: "CSM attainment on the account's book",
    RULE_REVERSAL: "Correction: reversal of an entry",
    RULE_REPLACEMENT: "Correction: replacement of an entry",
}

#: The split proposed for a co-owned deal; the closer must still enter (confirm or change) it.
CO_OWNED_PROPOSAL = (50, 50)

#: prev_hash of the first entry of the chain.
GENESIS_HASH = "0" * 64

CENT = Decimal("0.01")

#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class SplitRefused(ValueError):
    """The split (or the win it belongs to) cannot be recorded; the message says why in plain words."""


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    role: str = ""
    active: bool = True


@dataclass(frozen=True)
class Deal:
    """What the credit rules look at for one won EQL."""

    eql_id: int
    route: str
    csm_involvement_required: bool
    amount: Decimal
    owner: Person | None
    eql_csm: Person | None = None
    account_ae: Person | None = None
    account_csm: Person | None = None
    #: People who logged an activity on the EQL.
    activity_people: tuple[Person, ...] = ()

    @property
    def co_owned(self) -> bool:
        return (self.route == ROUTE_AE and self.csm_involvement_required) or self.route == ROUTE_JOINT

    @property
    def book_csm(self) -> Person | None:
        return self.account_csm or self.eql_csm

    def involved(self) -> dict[int, Person]:
        """People who may appear in a split: owner, EQL CSM, account AE/CSM, activity loggers."""
        people = [self.owner, self.eql_csm, self.account_ae, self.account_csm, *self.activity_people]
        return {p.id: p for p in people if p is not None}


@dataclass(frozen=True)
class Credit:
    person: Person
    credit_type: str
    percent: int
    amount: Decimal
    rule: str
    reason: str


@dataclass(frozen=True)
class SplitLine:
    email: str
    percent: int


@dataclass(frozen=True)
class Proposal:
    """What the close form should show: the rule, whether a split must be entered, and a prefill."""

    rule: str
    split_required: bool
    lines: tuple[SplitLine, ...] = field(default_factory=tuple)
    explanation: str = ""


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def period_of(moment: datetime) -> str:
    """The close period, ``YYYY-MM`` (of the aware datetime as given; callers pass local time)."""
    return f"{moment.year:04d}-{moment.month:02d}"


def period_quarter(period: str) -> str:
    """``2025-05`` -> ``2025-Q2``."""
    year, month = period.split("-")
    return f"{year}-Q{(int(month) - 1) // 3 + 1}"


def periods_of_quarter(quarter: str) -> list[str]:
    """``2025-Q2`` -> ``["2025-04", "2025-05", "2025-06"]``."""
    year, q = quarter.split("-Q")
    first = (int(q) - 1) * 3 + 1
    return [f"{int(year):04d}-{m:02d}" for m in range(first, first + 3)]


def whole_percent(raw, where: str = "percent", *, minimum: int = 1) -> int:
    """A whole percentage from ``minimum`` to 100, or SplitRefused saying what is wrong with ``where``."""
    if isinstance(raw, bool) or raw is None:
        raise SplitRefused(f"{where}: percent must be a whole number, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        try:
            number = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError):
            raise SplitRefused(f"{where}: percent must be a whole number, got {raw!r}") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise SplitRefused(f"{where}: percent must be a whole number, got {raw!r}")
        value = int(number)
    if value < 0:
        raise SplitRefused(f"{where}: percent must not be negative, got {value}")
    if value < minimum or value > 100:
        raise SplitRefused(f"{where}: percent must be from {minimum} to 100, got {value}")
    return value


def parse_splits(raw: Sequence[Mapping] | None) -> list[SplitLine]:
    """Shape checks that need no people: each line has an email and a whole percent 1-100; no email
    twice; the percentages sum to exactly 100."""
    if not raw:
        return []
    lines: list[SplitLine] = []
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise SplitRefused(f"split line {position}: expected {{email, percent}}, got {item!r}")
        email = str(item.get("email") or "").strip().lower()
        if not email:
            raise SplitRefused(f"split line {position}: an email is required")
        percent = whole_percent(item.get("percent"), f"split line {position}")
        if email in seen:
            raise SplitRefused(f"split line {position}: {email} appears more than once; one line per person")
        seen.add(email)
        lines.append(SplitLine(email=email, percent=percent))
    total = sum(line.percent for line in lines)
    if total != 100:
        raise SplitRefused(f"the split sums to {total}%; percentages must sum to exactly 100")
    return lines


def allocate(amount: Decimal, percents: Sequence[int]) -> list[Decimal]:
    """Split ``amount`` by whole percentages that sum to 100 into cents that add up exactly to
    ``amount``: each share is rounded down, then the left-over cents go one each to the largest
    remainders (the earlier line on ties)."""
    cents = int(money(amount) / CENT)
    exact = [Decimal(cents) * p / 100 for p in percents]
    floors = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
    left = cents - sum(floors)
    order = sorted(range(len(percents)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def share_of(amount: Decimal, percent: int) -> Decimal:
    """One line's share: ``amount x percent / 100`` to the cent, half up."""
    return (money(amount) * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def proposal_for(deal: Deal) -> Proposal:
    """The split the close form proposes from the route."""
    if deal.co_owned:
        people = [p for p in (deal.owner, deal.eql_csm or deal.account_csm) if p is not None]
        if len(people) == 2 and people[0].id != people[1].id:
            lines = tuple(SplitLine(p.email, pct) for p, pct in zip(people, CO_OWNED_PROPOSAL, strict=True))
        else:
            lines = tuple(SplitLine(p.email, 100) for p in people[:1])
        return Proposal(
            RULE_CO_OWNED_SPLIT,
            True,
            lines,
            "Co-owned deal (AE-led with CSM involvement required): enter the contribution split, whole "
            "percentages that sum to exactly 100, among the people involved.",
        )
    if deal.route == ROUTE_AE:
        lines = (SplitLine(deal.owner.email, 100),) if deal.owner else ()
        return Proposal(RULE_AE_OWNER, False, lines, "AE-owned deal: the owner gets 100% quota credit.")
    return Proposal(RULE_CSM_OWNER, False, (), "CSM-led deal: the CSM owner gets attainment, no quota.")


def _matches_proposal(lines: Sequence[SplitLine], owner: Person | None) -> bool:
    return owner is not None and [(x.email, x.percent) for x in lines] == [(owner.email.lower(), 100)]


def credits_for_win(
    deal: Deal, splits: Sequence[Mapping] | None, people_by_email: Mapping[str, Person]
) -> list[Credit]:
    """The credit entries for one won EQL, or SplitRefused with a plain reason (see module docstring).

    ``people_by_email`` maps lower-case email -> Person for every email named in ``splits`` that exists."""
    amount = money(deal.amount)
    if amount <= 0:
        raise SplitRefused("won needs the expansion ARR (a positive amount) to record credit")
    lines = parse_splits(splits)
    credits: list[Credit] = []
    if deal.co_owned:
        if not lines:
            raise SplitRefused(
                "this deal is co-owned (AE-led with CSM involvement required): enter the contribution "
                "split, e.g. splits=[{email, percent}, ...] with whole percentages summing to 100"
            )
        involved = deal.involved()
        people = []
        for position, line in enumerate(lines, start=1):
            person = people_by_email.get(line.email)
            if person is None:
                raise SplitRefused(f"split line {position}: nobody is registered with the email {line.email}")
            if not person.active:
                raise SplitRefused(f"split line {position}: {line.email} is inactive and cannot get credit")
            if person.id not in involved:
                raise SplitRefused(
                    f"split line {position}: {line.email} is not involved on this EQL or its account "
                    "(owner, the EQL's CSM, the account's AE or CSM, or someone who logged an activity)"
                )
            people.append(person)
        if len({p.id for p in people}) != len(people):
            raise SplitRefused("the split names the same person more than once; one line per person")
        amounts = allocate(amount, [line.percent for line in lines])
        for person, line, share in zip(people, lines, amounts, strict=True):
            credits.append(
                Credit(
                    person,
                    QUOTA,
                    line.percent,
                    share,
                    RULE_CO_OWNED_SPLIT,
                    f"Co-owned deal: {line.percent}% of the won ARR by the split entered at close",
                )
            )
    elif deal.route == ROUTE_AE:
        if lines and not _matches_proposal(lines, deal.owner):
            raise SplitRefused(
                "a contribution split is only recorded for co-owned deals (AE-led with CSM involvement "
                "required); on this AE-owned EQL the owner gets 100% quota credit"
            )
        if deal.owner is None:
            raise SplitRefused("this EQL has no owner to credit; assign an owner before marking it won")
        credits.append(
            Credit(
                deal.owner,
                QUOTA,
                100,
                amount,
                RULE_AE_OWNER,
                "AE-owned deal: the owner gets 100% quota credit",
            )
        )
    else:
        if lines:
            raise SplitRefused(
                "a contribution split is only recorded for co-owned deals (AE-led with CSM involvement "
                "required); on a CSM-led EQL the CSM gets attainment, not quota"
            )
        if deal.owner is not None:
            credits.append(
                Credit(
                    deal.owner,
                    ATTAINMENT,
                    100,
                    amount,
                    RULE_CSM_OWNER,
                    f"CSM-led deal ({deal.route}): the CSM owner's credit is attainment only, no quota",
                )
            )
    book = deal.book_csm
    if book is not None and not any(c.credit_type == ATTAINMENT and c.person.id == book.id for c in credits):
        credits.append(
            Credit(
                book,
                ATTAINMENT,
                100,
                amount,
                RULE_BOOK_CSM,
                "CSM expansion attainment: won expansion ARR on the CSM's book",
            )
        )
    if not credits:
        raise SplitRefused("nobody to credit: this EQL has no owner and its account has no CSM")
    return credits


# --- the hash chain -------------------------------------------------------------------------------
#
# Two chain versions live in one chain, told apart by each entry's ``chain_version``:
#
# - **1, legacy**: ``sha256(canonical)``, unkeyed. Entries written before the chain was keyed. Anyone
#   with database access could recompute these, so they are accepted only as the *start* of the
#   chain, never after a keyed entry, and only up to the entry count of a signed **legacy seal** (an
#   anchor written by migration 0006 when it found them; see below). They are not re-hashed: a data
#   migration that re-chains old rows with the new key would sign whatever the table held that day
#   and erase the evidence of an earlier edit; keeping their original hashes keeps them comparable
#   with any copy taken before the upgrade (a CSV export carries ``entry_hash``).
# - **2, keyed**: ``HMAC-SHA256(ATTRIBUTION_CHAIN_KEY, "attribution-entry/v2\n" + canonical)``. The
#   key lives in the environment, never in the database, so rewriting an entry and recomputing every
#   later hash needs the key, not just SQL access.
#
# An anchor is a signed head: the entry count, the last entry's id and hash, when, why, the key's
# fingerprint and an HMAC over all of it. Anchors are written outside the table (a log line and an
# append-only file) after every write, by ``verify_attribution --anchor`` and on demand by Finance's
# "signed head" download. ``chain_break`` checks every anchor against the chain: an anchor that says
# 41 entries when the table has 40 names the missing entry (deleting the newest entries leaves a
# valid chain, only an anchor can tell), and an anchor whose entry differs names a rewrite.

#: Entries written before the chain was keyed: unkeyed SHA-256.
CHAIN_LEGACY = 1
#: HMAC-SHA256 with ATTRIBUTION_CHAIN_KEY. Every new entry.
CHAIN_KEYED = 2
CHAIN_VERSIONS = (CHAIN_LEGACY, CHAIN_KEYED)

#: Domain separation: an entry MAC can never be replayed as an anchor MAC, nor the other way round.
ENTRY_DOMAIN = b"attribution-entry/v2\n"
ANCHOR_DOMAIN = b"attribution-anchor/v1\n"
FINGERPRINT_DOMAIN = b"attribution-key-fingerprint/v1"

#: Why an anchor was written.
ANCHOR_WRITE = "write"
ANCHOR_VERIFIED = "verified"
ANCHOR_EXPORT = "export"
ANCHOR_LEGACY_SEAL = "legacy-seal"
ANCHOR_REASONS = (ANCHOR_WRITE, ANCHOR_VERIFIED, ANCHOR_EXPORT, ANCHOR_LEGACY_SEAL)
#: Marks an anchor in a log line or file line (``"kind": "attribution_anchor"``).
ANCHOR_KIND = "attribution_anchor"

#: The fields of an entry that its hash covers, in the order they are listed in the canonical form.
HASHED_FIELDS = (
    "eql_id",
    "account_id",
    "person_id",
    "role",
    "credit_type",
    "percent",
    "amount",
    "period",
    "closed_at",
    "rule",
    "basis",
    "reason",
    "recorded_by_id",
    "recorded_at",
    "corrects_id",
    "prev_hash",
)


def _canonical_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return str(money(value))
    return value


def canonical(entry: Mapping) -> str:
    """Stable text of an entry's content: the hashed fields as sorted, compact JSON (datetimes in UTC
    with microseconds, money with two decimals)."""
    data = {name: _canonical_value(entry[name]) for name in HASHED_FIELDS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def legacy_entry_hash(entry: Mapping) -> str:
    """Chain version 1: unkeyed SHA-256 of the canonical content (which includes ``prev_hash``)."""
    return hashlib.sha256(canonical(entry).encode("utf-8")).hexdigest()


def keyed_entry_hash(entry: Mapping, key: bytes) -> str:
    """Chain version 2: HMAC-SHA256 of the canonical content under the chain key."""
    return hmac.new(key, ENTRY_DOMAIN + canonical(entry).encode("utf-8"), hashlib.sha256).hexdigest()


def entry_hash(entry: Mapping, key: bytes) -> str:
    """The hash an entry must carry, by its ``chain_version`` (keyed when absent)."""
    version = entry.get("chain_version", CHAIN_KEYED)
    if version == CHAIN_LEGACY:
        return legacy_entry_hash(entry)
    if version == CHAIN_KEYED:
        return keyed_entry_hash(entry, key)
    raise ValueError(f"unknown chain version {version!r}")


def key_fingerprint(key: bytes) -> str:
    """A short public name of a key (an HMAC of a constant: says which key, reveals nothing of it)."""
    return hmac.new(key, FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Anchor:
    """A signed head of the chain. ``source`` (where it was read) is not signed."""

    at: str
    entries: int
    last_id: int | None
    last_hash: str
    reason: str
    key: str
    mac: str = ""
    source: str = ""

    @property
    def day(self) -> str:
        return self.at[:10]

    def payload(self) -> dict:
        return {
            "kind": ANCHOR_KIND,
            "at": self.at,
            "entries": self.entries,
            "last_id": self.last_id,
            "last_hash": self.last_hash,
            "reason": self.reason,
            "key": self.key,
        }


def _anchor_mac(anchor: Anchor, key: bytes) -> str:
    text = json.dumps(anchor.payload(), sort_keys=True, separators=(",", ":"))
    return hmac.new(key, ANCHOR_DOMAIN + text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_anchor(
    *, key: bytes, at: datetime, entries: int, last_id: int | None, last_hash: str, reason: str
) -> Anchor:
    unsigned = Anchor(
        at=at.astimezone(UTC).isoformat(timespec="seconds"),
        entries=entries,
        last_id=last_id,
        last_hash=last_hash,
        reason=reason,
        key=key_fingerprint(key),
    )
    return replace(unsigned, mac=_anchor_mac(unsigned, key))


def anchor_line(anchor: Anchor) -> str:
    """One compact JSON line: what the anchor file holds and what the log line carries."""
    return json.dumps({**anchor.payload(), "mac": anchor.mac}, sort_keys=True, separators=(",", ":"))


class AnchorInvalid(ValueError):
    """A line that says it is an anchor but cannot be read as one."""


def parse_anchors(lines: Iterable[str], source: str) -> list[Anchor]:
    """Anchors in a file or log: every line that carries ``"kind":"attribution_anchor"`` (the JSON
    may follow a log prefix); other lines are skipped. A marked line that is not a well-formed anchor
    raises AnchorInvalid naming the line."""
    found = []
    for number, line in enumerate(lines, start=1):
        if f'"kind":"{ANCHOR_KIND}"' not in line:
            continue
        where = f"{source}:{number}"
        text = line[line.find("{") : line.rfind("}") + 1]
        try:
            data = json.loads(text)
            anchor = Anchor(
                at=str(data["at"]),
                entries=int(data["entries"]),
                last_id=None if data["last_id"] is None else int(data["last_id"]),
                last_hash=str(data["last_hash"]),
                reason=str(data["reason"]),
                key=str(data["key"]),
                mac=str(data["mac"]),
                source=where,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorInvalid(f"{where}: not a readable attribution anchor ({exc})") from None
        if anchor.entries < 0 or anchor.reason not in ANCHOR_REASONS:
            raise AnchorInvalid(f"{where}: not a readable attribution anchor")
        found.append(anchor)
    return found


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int | None
    reason: str
    #: ``edited``, ``relinked``, ``unkeyed``, ``missing``, ``rewritten``, ``anchor`` (an anchor is
    #: unreadable, forged or signed with another key) or ``no-anchor`` (entries and no anchor at all).
    kind: str = "edited"


def anchor_problem(anchors: Sequence[Anchor], key: bytes) -> ChainBreak | None:
    """The first anchor that is not signed with ``key``: another key's fingerprint (the wrong key is
    configured) or a MAC that does not match (forged or altered)."""
    mine = key_fingerprint(key)
    for anchor in anchors:
        if anchor.key != mine:
            return ChainBreak(
                None,
                f"anchor {anchor.source} was signed with the key whose fingerprint is {anchor.key}, "
                f"but ATTRIBUTION_CHAIN_KEY here has fingerprint {mine}: verify with the key the log "
                "was written with",
                "anchor",
            )
        if not hmac.compare_digest(anchor.mac, _anchor_mac(anchor, key)):
            return ChainBreak(
                None, f"anchor {anchor.source} does not match its signature (forged or altered)", "anchor"
            )
    return None


def _missing(anchor: Anchor, count: int, last_id: int | None) -> ChainBreak:
    gone = anchor.entries - count
    table = f"table has {count}" + (f" (last #{last_id})" if last_id is not None else "")
    if gone == 1:
        what = f"entry #{anchor.last_id} missing"
    else:
        what = f"{gone} entries missing, the newest #{anchor.last_id}"
    return ChainBreak(
        anchor.last_id, f"{what}: anchor {anchor.day} says {anchor.entries} entries, {table}", "missing"
    )


def chain_break(
    entries: Iterable[Mapping], key: bytes, anchors: Sequence[Anchor] = ()
) -> tuple[ChainBreak | None, int, str]:
    """Walk entries in id order; return (first break or None, entries checked, head hash).

    ``anchors`` must already be checked with ``anchor_problem``. Every anchor is compared with the
    entry at its position; the largest one must not be beyond the end of the table."""
    at_position: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        at_position.setdefault(anchor.entries, []).append(anchor)
    sealed = max((a.entries for a in anchors if a.reason == ANCHOR_LEGACY_SEAL), default=0)
    prev = GENESIS_HASH
    prev_id = None
    keyed_seen = False
    count = 0
    for entry in entries:
        count += 1
        entry_id = entry["id"]
        if entry["prev_hash"] != prev:
            after = f"entry {prev_id}" if prev_id is not None else "the start of the log"
            return (
                ChainBreak(
                    entry_id,
                    f"its prev_hash does not match the hash of {after} "
                    "(an entry was removed, inserted or re-linked)",
                    "relinked",
                ),
                count,
                prev,
            )
        version = entry.get("chain_version", CHAIN_KEYED)
        if version == CHAIN_LEGACY:
            if keyed_seen or count > sealed:
                why = (
                    "it follows keyed entries"
                    if keyed_seen
                    else "no signed legacy seal covers it"
                    if not sealed
                    else f"the signed legacy seal covers only the first {sealed} entries"
                )
                return (
                    ChainBreak(
                        entry_id,
                        f"it carries an unkeyed hash (chain version 1) but {why}: it was written or "
                        "rewritten without ATTRIBUTION_CHAIN_KEY",
                        "unkeyed",
                    ),
                    count,
                    prev,
                )
            expected = legacy_entry_hash(entry)
        elif version == CHAIN_KEYED:
            keyed_seen = True
            expected = keyed_entry_hash(entry, key)
        else:
            return ChainBreak(entry_id, f"it has an unknown chain version {version!r}", "edited"), count, prev
        if not hmac.compare_digest(expected, entry["entry_hash"]):
            reason = "its content does not match its hash (it was edited after it was written)"
            if version == CHAIN_KEYED:
                reason = (
                    "its content does not match its keyed hash (it was edited after it was written, "
                    "or ATTRIBUTION_CHAIN_KEY is not the key the log was written with)"
                )
            return ChainBreak(entry_id, reason, "edited"), count, prev
        for anchor in at_position.get(count, ()):
            if anchor.last_id != entry_id or anchor.last_hash != entry["entry_hash"]:
                return (
                    ChainBreak(
                        entry_id,
                        f"anchor {anchor.day} ({anchor.source}) says entry {count} of the log is "
                        f"#{anchor.last_id} with hash {anchor.last_hash[:16]}, the table has "
                        f"#{entry_id} with hash {entry['entry_hash'][:16]} (the log was rewritten)",
                        "rewritten",
                    ),
                    count,
                    prev,
                )
        prev, prev_id = entry["entry_hash"], entry_id
    newest = max(anchors, key=lambda a: a.entries, default=None)
    if newest is not None and newest.entries > count:
        return _missing(newest, count, prev_id), count, prev
    return None, count, prev


# --- reports --------------------------------------------------------------------------------------


def csv_safe(value) -> object:
    """Neutralise a text cell a spreadsheet would run as a formula by prefixing a single quote.
    Numbers we computed (int, Decimal) stay numbers so a reversal's -1200.00 still adds up."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


@dataclass(frozen=True)
class TotalRow:
    person_id: int
    period: str
    quota: Decimal
    attainment: Decimal


def totals(rows: Iterable[Mapping]) -> tuple[list[TotalRow], list[TotalRow]]:
    """Per person per month and per quarter: quota credit and attainment.

    ``rows``: ``{person_id, period, credit_type, amount}`` (already summed or raw entries; reversals
    carry negative amounts so corrections net out). Sorted by person then period."""
    month: dict[tuple[int, str], dict[str, Decimal]] = {}
    for row in rows:
        key = (row["person_id"], row["period"])
        bucket = month.setdefault(key, {QUOTA: Decimal("0.00"), ATTAINMENT: Decimal("0.00")})
        bucket[row["credit_type"]] += money(row["amount"] or 0)
    quarter: dict[tuple[int, str], dict[str, Decimal]] = {}
    for (person, period), bucket in month.items():
        q = quarter.setdefault(
            (person, period_quarter(period)), {QUOTA: Decimal("0.00"), ATTAINMENT: Decimal("0.00")}
        )
        q[QUOTA] += bucket[QUOTA]
        q[ATTAINMENT] += bucket[ATTAINMENT]

    def rows_of(table):
        return [TotalRow(p, per, b[QUOTA], b[ATTAINMENT]) for (p, per), b in sorted(table.items())]

    return rows_of(month), rows_of(quarter)
