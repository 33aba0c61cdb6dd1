"""List, or with ``--delete`` remove, stored customer files that no row references
(personalization.orphans): a rolled-back submit or order, a worker that failed mid-store. Only files
older than ``--older-than`` seconds (default ORPHAN_GRACE_SECONDS), so a write in flight is safe."""

from django.core.management.base import BaseCommand

from personalization.orphans import orphan_files, orphan_files_delete


class Command(BaseCommand):
    help = "Count (or --delete) stored customer files that no row references, with their bytes."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="Delete them.")
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="Only files older than this many seconds (default: ORPHAN_GRACE_SECONDS).",
        )
        parser.add_argument(
            "--list", dest="show", action="store_true", help="Print each file's name and size."
        )

    def handle(self, *args, delete: bool, older_than: float | None, show: bool, **options):
        if delete:
            count, size = orphan_files_delete(older_than=older_than)
            self.stdout.write(f"orphan files deleted: {count} ({size} bytes)")
            return
        found = orphan_files(older_than=older_than)
        if show:
            for item in found:
                self.stdout.write(f"{item.size:>12} {item.modified:%Y-%m-%d %H:%M} {item.name}")
        self.stdout.write(f"orphan files: {len(found)} ({sum(item.size for item in found)} bytes)")
