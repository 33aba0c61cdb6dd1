from django.core.management.base import BaseCommand

from personalization.files import customer_files_move_to_private


class Command(BaseCommand):
    help = (
        "Move customer files written by older versions to public media (guessable paths) into the "
        "private storage under unguessable keys, and delete the public copies. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would move; change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        report = customer_files_move_to_private(dry_run=dry_run)
        verb = "would move" if dry_run else "moved"
        self.stdout.write(f"{verb} {report.moved} file(s) for {report.rows} row(s)")
        for name in report.missing:
            self.stderr.write(f"missing in both storages: {name}")
