"""manage.py verify_attribution: recompute the split-credit log's hash chain and name the first break."""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from expansion.attribution_services import chain_verify


class Command(BaseCommand):
    help = (
        "Recompute every attribution entry's SHA-256 hash in id order. Prints OK with the count and the "
        "head hash, or fails (exit 1) naming the first entry that was edited, removed or re-linked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, **options):
        broken, count, head = chain_verify()
        if options["json"]:
            self.stdout.write(
                jsonlib.dumps(
                    {
                        "ok": broken is None,
                        "entries": count,
                        "head": head,
                        "broken_entry": broken.entry_id if broken else None,
                        "reason": broken.reason if broken else "",
                    }
                )
            )
        if broken is not None:
            raise CommandError(
                f"attribution log broken at entry {broken.entry_id}: {broken.reason}. "
                f"Entries before it ({count - 1}) verify; restore entry {broken.entry_id} from a backup "
                "and record any change as a correction."
            )
        if not options["json"]:
            self.stdout.write(f"OK: {count} attribution entries verified; head hash {head}")
