"""manage.py verify_attribution: recompute the split-credit log's keyed hash chain, check it against the
signed anchors (heads kept outside the table) and name the first break; ``--anchor`` signs the head."""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from routing.attribution import rules
from routing.attribution.anchors import publish_anchor
from routing.attribution.services import chain_verify, signed_head

#: What to do about each kind of break.
ADVICE = {
    "missing": "Restore the missing entries from a backup; the log must never lose an entry.",
    "relinked": "Restore the removed or re-linked entry from a backup and record any change as a correction.",
    "rewritten": "The table no longer holds what was signed: restore it from a backup taken before the "
    "anchor.",
    "anchor": "Check ATTRIBUTION_CHAIN_KEY and the anchors given; an anchor the key does not sign is not "
    "evidence.",
    "no-anchor": "",
}
DEFAULT_ADVICE = "Restore the entry from a backup and record any change as a correction."


class Command(BaseCommand):
    help = (
        "Recompute every attribution entry's keyed hash (HMAC-SHA256 with ATTRIBUTION_CHAIN_KEY; entries "
        "from before the key: SHA-256, sealed) in id order and check the table against the signed "
        "anchors. Prints OK with the count and the head hash, or fails (exit 1) naming the first entry "
        "that was edited, removed, re-linked or is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--anchors",
            nargs="+",
            metavar="FILE",
            help="Check against the anchors in these files (copies of the anchor file, collected log "
            "output, signed head downloads) instead of ATTRIBUTION_ANCHOR_FILE.",
        )
        parser.add_argument(
            "--anchor",
            action="store_true",
            help="After a clean check, sign the current head and publish it (anchor file and log). "
            "Run it daily and at each close; it also re-anchors a log whose anchors were lost.",
        )

    def handle(self, **options):
        result = chain_verify(options["anchors"])
        broken = result.broken
        newest = result.newest
        if options["json"]:
            self.stdout.write(
                jsonlib.dumps(
                    {
                        "ok": broken is None,
                        "entries": result.entries,
                        "head": result.head,
                        "anchors": result.anchors,
                        "newest_anchor": rules.anchor_line(newest) if newest else None,
                        "broken_entry": broken.entry_id if broken else None,
                        "kind": broken.kind if broken else "",
                        "reason": broken.reason if broken else "",
                    }
                )
            )
        lost_anchors_only = broken is not None and broken.kind == "no-anchor"
        if broken is not None and not (lost_anchors_only and options["anchor"]):
            raise CommandError(self._failure(result))
        if lost_anchors_only:
            self.stderr.write(f"Warning: {broken.reason}. Signing the head as the table holds it now.")
        if not options["json"]:
            checked = (
                f"; checked against {result.anchors} signed anchors (newest {newest.day}: "
                f"{newest.entries} entries)"
                if newest
                else ""
            )
            self.stdout.write(
                f"OK: {result.entries} attribution entries verified; head hash {result.head}{checked}"
            )
        if options["anchor"]:
            anchor = signed_head(rules.ANCHOR_VERIFIED)
            publish_anchor(anchor)
            if not options["json"]:
                self.stdout.write(f"Signed head published: {anchor.entries} entries, last #{anchor.last_id}")

    @staticmethod
    def _failure(result) -> str:
        broken = result.broken
        if broken.kind in ("anchor", "no-anchor"):
            return f"attribution log not verified: {broken.reason}. {ADVICE[broken.kind]}".strip()
        if broken.kind == "missing":
            return f"attribution log broken: {broken.reason}. {ADVICE['missing']}"
        return (
            f"attribution log broken at entry {broken.entry_id}: {broken.reason}. "
            f"Entries before it ({result.entries - 1}) verify. "
            f"{ADVICE.get(broken.kind, DEFAULT_ADVICE)}"
        )
