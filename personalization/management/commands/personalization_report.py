"""The paper's Table 2 per product category (with ``--cost`` its Table 4), printed and written as CSV,
and with ``--plot`` the admin dashboard's charts as files. docs/DASHBOARD.md."""

import argparse
import csv as csv_module
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import timezone

from brand_guides.models import Brand
from personalization import analytics
from personalization.charts import dashboard_charts

COLUMNS = [
    ("category", "Category"),
    ("requests", "Requests"),
    ("succeeded", "Succeeded"),
    ("rejected", "Rejected"),
    ("avg_generation_seconds", "Avg time (s)"),
    ("avg_brand_consistency", "Avg brand consistency"),
    ("avg_rating", "Avg rating"),
    ("ratings", "Ratings"),
    ("rejection_rate", "Rejection rate (%)"),
]
# key, title, format (None: as is); money in the currency of the settings.
COST_COLUMNS = [
    ("category", "Category", None),
    ("designs", "Designs", None),
    ("untimed_designs", "Without timing", None),
    ("gpu_seconds", "GPU s", "{:.1f}"),
    ("gpu_seconds_per_design", "GPU s/design", "{:.2f}"),
    ("ai_cost_per_design", "AI/design", "{:.4f}"),
    ("designer_cost_per_design", "Designer/design", "{:.2f}"),
    ("savings_percent", "Savings (%)", "{:.2f}"),
    ("ai_cost_total", "AI total", "{:.2f}"),
    ("designer_cost_total", "Designer total", "{:.2f}"),
]
PLOT_SUFFIXES = (".svg", ".html")


def _cell(value, fmt: str | None = None) -> str:
    if value is None:
        return "–"
    return fmt.format(value) if fmt else str(value)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-01-31."
        ) from None


class Command(BaseCommand):
    help = (
        "Per-category table (requests, avg generation time, avg brand consistency, avg rating, rejection "
        "rate); writes CSV. --cost: cost per design, AI vs a designer. --plot: the dashboard's charts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", type=Path, default=Path("var/personalization_report.csv"))
        parser.add_argument(
            "--since", type=iso_date, help="first day, YYYY-MM-DD (default: the first request's day)"
        )
        parser.add_argument("--until", type=iso_date, help="last day, INCLUSIVE, YYYY-MM-DD (default: today)")
        parser.add_argument("--brand", help="one brand's slug (default: every brand)")
        parser.add_argument("--cost", action="store_true", help="also print the cost per design table")
        parser.add_argument(
            "--plot",
            type=Path,
            help="write the charts: FILE.svg -> FILE-<chart>.svg each; FILE.html -> one page with all",
        )

    def handle(self, *args, csv: Path, since, until, brand, cost: bool, plot: Path | None, **options):
        if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
            raise CommandError(f"--plot writes .svg or .html files, not {plot.name!r}.")
        chosen = self._brand(brand)
        until = until or timezone.localdate()
        if since is None:
            first = analytics.first_request_date(requests=analytics.brand_requests(brand=chosen))
            since = min(first or until, until)
        try:
            period = analytics.period_for_dates(since=since, until=until)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Requests submitted from {since.isoformat()} to {until.isoformat()} (both days included), "
            f"{f'brand {chosen.slug}' if chosen else 'all brands'}."
        )

        rows = analytics.category_table(period=period, brand=chosen)
        self._table(rows, [(key, title, None) for key, title in COLUMNS], empty="No generation requests yet.")
        csv.parent.mkdir(parents=True, exist_ok=True)
        with csv.open("w", newline="") as fh:
            writer = csv_module.writer(fh)
            writer.writerow([key for key, _ in COLUMNS])
            for r in rows:
                writer.writerow(["" if r[key] is None else r[key] for key, _ in COLUMNS])
        self.stdout.write(f"CSV written to {csv}")

        if cost:
            report = analytics.cost_report(period=period, brand=chosen)
            prices = report["prices"]
            self.stdout.write("")
            self.stdout.write(
                f"Cost per design in {prices.currency}: {prices.gpu_price_per_hour} per GPU hour "
                f"(GPU_PRICE_PER_HOUR) x measured GPU seconds per design / 3600, against "
                f"{prices.designer_cost_per_design} per design by a designer (DESIGNER_COST_PER_DESIGN)."
            )
            table = [*report["rows"], report["total"]] if report["rows"] else []
            self._table(table, COST_COLUMNS, empty="No generated designs in this period.")

        if plot is not None:
            figures = analytics.dashboard(period=period, brand=chosen)
            for written in self._plot(plot, dashboard_charts(figures), period=period, brand=chosen):
                self.stdout.write(f"Chart written to {written}")

    def _brand(self, slug: str | None) -> Brand | None:
        if not slug:
            return None
        brand = Brand.objects.filter(slug=slug).first()
        if brand is None:
            known = list(Brand.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(
                f"No brand with the slug {slug!r}. Known slugs: {', '.join(known) or 'none (no brands yet)'}."
            )
        return brand

    def _table(self, rows: list[dict], columns, *, empty: str) -> None:
        if not rows:
            self.stdout.write(empty)
            return
        cells = [[_cell(r[key], fmt) for key, _, fmt in columns] for r in rows]
        widths = [max(len(title), *(len(row[i]) for row in cells)) for i, (_, title, _) in enumerate(columns)]
        line = "  ".join(title.ljust(w) for (_, title, _), w in zip(columns, widths, strict=True))
        self.stdout.write(line)
        self.stdout.write("-" * len(line))
        for row in cells:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def _plot(self, target: Path, charts, *, period, brand) -> list[Path]:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".svg":
            written = []
            for chart in charts:
                path = target.with_name(f"{target.stem}-{chart.name}.svg")
                path.write_text(chart.svg, encoding="utf-8")
                written.append(path)
            return written
        page = render_to_string(
            "personalization/report_charts.html", {"charts": charts, "period": period, "brand": brand}
        )
        target.write_text(page, encoding="utf-8")
        return [target]
