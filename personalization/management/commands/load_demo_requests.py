"""Submit customer requests from a JSON-lines file through the same service as the storefront:
demo data for the gallery and the report, or a load test of the queue and the worker.

    python manage.py load_demo_requests ../shared/data/requests.jsonl --limit 12 --steps 20

Each line: {"category", "product_type", "base_color", "description", "style", "material"}. The
product is the first published one of that type (else of that category); colour, style and
material are matched by name when the catalogue has them, else left to the product's defaults.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from personalization.hosts import host
from personalization.selectors import offered_presets
from personalization.services import QuotaExceeded, generation_request_create


def _match(queryset, name: str):
    slug = slugify(name or "")
    return (
        queryset.filter(slug=slug).first()
        or queryset.filter(name__iexact=name).first()
        or queryset.filter(name__icontains=name).first()
        if slug
        else None
    )


def _find_product(catalogue, product_type: str, category: str):
    """(row, ProductInfo) of the first product of this type, else of this category; else Nones."""
    wanted = product_type.casefold()
    by_type = (pair for pair in catalogue if wanted and pair[1].product_type.casefold() == wanted)
    by_category = (pair for pair in catalogue if category and pair[1].category_slug == category)
    return next(by_type, None) or next(by_category, (None, None))


class Command(BaseCommand):
    help = "Submit the customer requests of a JSON-lines file (demo data, reports, load tests)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--limit", type=int, default=0, help="At most this many lines (0: all).")
        parser.add_argument("--steps", type=int, default=None)
        parser.add_argument("--variations", type=int, default=1)
        parser.add_argument("--seed", type=int, default=1000, help="Line i uses seed + i (reproducible).")
        parser.add_argument("--session", default="demo-requests", help="Owner key of the submitted rows.")
        parser.add_argument(
            "--client-ip",
            default="",
            help="Submit as from this client address (its anonymous per-address daily quota applies).",
        )

    def handle(
        self,
        *args,
        path: Path,
        limit: int,
        steps,
        variations: int,
        seed: int,
        session: str,
        client_ip: str,
        **options,
    ):
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        # The host's personalizable products, each with its description (ProductInfo), in its order.
        rows = list(host().products())
        catalogue = list(zip(rows, host().product_infos(rows), strict=True))
        counts: dict[str, int] = {}
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        for i, line in enumerate(lines[:limit] if limit else lines):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                self.stderr.write(f"line {i + 1}: not JSON ({exc.msg})")
                counts["invalid"] = counts.get("invalid", 0) + 1
                continue
            category = slugify((row.get("category") or "").replace("_", "-"))
            product, info = _find_product(catalogue, str(row.get("product_type") or ""), category)
            if product is None:
                self.stderr.write(f"line {i + 1}: no product for {row.get('product_type')!r} / {category!r}")
                counts["no_product"] = counts.get("no_product", 0) + 1
                continue
            color = info.base_color(str(row.get("base_color") or "")) or next(iter(info.base_colors), None)
            materials, styles = offered_presets(info)
            material = _match(materials, row.get("material", ""))
            try:
                req = generation_request_create(
                    product=product,
                    base_color=color.name if color else "",
                    description=row.get("description", ""),
                    style=_match(styles, row.get("style", "")),
                    material=material,
                    steps=steps,
                    variations=variations,
                    seed=seed + i,
                    session_key=session,
                    client_ip=client_ip or None,
                )
            except ValidationError as exc:
                self.stderr.write(f"line {i + 1}: refused: {exc.message_dict}")
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            except QuotaExceeded as exc:
                raise CommandError(f"stopped at line {i + 1}: {exc}") from None
            counts[req.status] = counts.get(req.status, 0) + 1
            self.stdout.write(f"{req.status:9} {info.name:28} {req.description[:60]}")
        self.stdout.write("submitted: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
