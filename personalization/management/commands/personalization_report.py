import csv as csv_module
from pathlib import Path

from django.core.management.base import BaseCommand

from personalization.selectors import category_report

COLUMNS = [
    ("category", "Category"),
    ("requests", "Requests"),
    ("succeeded", "Succeeded"),
    ("rejected", "Rejected"),
    ("avg_generation_seconds", "Avg time (s)"),
    ("avg_brand_consistency", "Avg brand consistency"),
    ("avg_rating", "Avg rating"),
    ("ratings", "Ratings"),
]


def _cell(value) -> str:
    return "–" if value is None else str(value)


class Command(BaseCommand):
    help = (
        "Per-category table (requests, avg generation time, avg brand consistency, avg rating); writes CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", type=Path, default=Path("var/personalization_report.csv"))

    def handle(self, *args, csv: Path, **options):
        rows = category_report()
        widths = (
            [max(len(title), *(len(_cell(r[key])) for r in rows)) for key, title in COLUMNS] if rows else []
        )
        if not rows:
            self.stdout.write("No generation requests yet.")
        else:
            line = "  ".join(title.ljust(w) for (_, title), w in zip(COLUMNS, widths, strict=True))
            self.stdout.write(line)
            self.stdout.write("-" * len(line))
            for r in rows:
                self.stdout.write(
                    "  ".join(_cell(r[key]).ljust(w) for (key, _), w in zip(COLUMNS, widths, strict=True))
                )
        csv_path = csv
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="") as fh:
            writer = csv_module.writer(fh)
            writer.writerow([key for key, _ in COLUMNS])
            for r in rows:
                writer.writerow(["" if r[key] is None else r[key] for key, _ in COLUMNS])
        self.stdout.write(f"CSV written to {csv_path}")
