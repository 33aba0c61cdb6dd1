"""Print the reconciliation counts (personalization.reconcile): stuck requests, requests run twice,
orphan files, ordered designs whose files are missing, failed print files; exit 1 when any is not
zero. For cron and the fault-injection suite (scripts/faults.py, docs/RELIABILITY.md)."""

import sys

from django.core.management.base import BaseCommand

from personalization.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Count stuck requests, requests run twice, orphan files, ordered designs missing files and "
        "failed print files; "
        "exit 1 if any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stuck-after",
            type=float,
            default=None,
            help="Seconds after which a queued request or an expired lease counts as stuck "
            "(default: QUEUE_AGE_FAIL_SECONDS).",
        )
        parser.add_argument(
            "--orphan-grace",
            type=float,
            default=None,
            help="Seconds a stored file no row references must be old to count "
            "(default: ORPHAN_GRACE_SECONDS; 0: every one).",
        )

    def handle(self, *args, stuck_after: float | None, orphan_grace: float | None, **options):
        counts = reconcile(stuck_after=stuck_after, orphans_older_than=orphan_grace)
        for name, count in counts.items():
            self.stdout.write(f"{name:<20} {count}")
        if any(counts.values()):
            sys.exit(1)
