import time

from django.core.management.base import BaseCommand

from personalization.tasks import sweep


class Command(BaseCommand):
    help = (
        "Requeue generations whose worker died (lease expired), fail them after MAX_ATTEMPTS; wake "
        "waiting generations and owed print jobs whose queue message was lost."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, loop: float, **options):
        while True:
            counts = sweep()
            if any(counts.values()) or not loop:
                self.stdout.write(f"sweep: {counts}")
            if not loop:
                return
            time.sleep(loop)
