"""Measure the demo model on held-out captions: colour adherence, motif adherence, and the demo brands'
consistency scores (personalization.engine.demo.report, docs/DEMO_MODEL.md)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand


def brands_from_database():
    """The brands with a palette, as the report takes them."""
    from brand_guides.models import Brand as BrandModel
    from personalization.engine.demo.report import Brand
    from personalization.specs import PaletteColorSpec

    out = []
    for brand in BrandModel.objects.prefetch_related("palette").order_by("name"):
        palette = [PaletteColorSpec(name=c.name, hex=c.hex, role=c.role) for c in brand.palette.all()]
        if palette:
            out.append(Brand(name=brand.name, palette=palette, min_score=brand.min_consistency_score))
    return out


class Command(BaseCommand):
    help = (
        "Generate a fixed held-out set of captions (never trained on) with the demo model and print "
        "colour adherence, motif adherence and the brands' consistency scores."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory", type=Path, nargs="?", default=None, help="Default: the committed demo model."
        )
        parser.add_argument("--count", type=int, default=120, help="Held-out captions (default 120).")
        parser.add_argument("--per-brand", type=int, default=40)
        parser.add_argument("--size", type=int, default=128)
        parser.add_argument("--steps", type=int, default=20)
        parser.add_argument("--guidance", type=float, default=7.5)
        parser.add_argument(
            "--json", dest="json_path", type=Path, default=None, help="Write the figures here too."
        )
        parser.add_argument("--grid", type=Path, default=None, help="Write a PNG grid of samples here.")

    def handle(self, *args, directory, count, per_brand, size, steps, guidance, json_path, grid, **options):
        from personalization.engine.core import Engine
        from personalization.engine.demo.report import format_report, run_report, sample_grid
        from personalization.engine.demo.train import DEMO_MODEL_DIR

        engine = Engine(str(directory or DEMO_MODEL_DIR), preset="sd21", device="cpu", dtype="float32")
        result = run_report(
            engine,
            count=count,
            size=size,
            steps=steps,
            guidance=guidance,
            brands=brands_from_database(),
            per_brand=per_brand,
            progress=lambda line: self.stderr.write(line),
        )
        samples = result.pop("samples")
        self.stdout.write(format_report(result))
        if json_path is not None:
            json_path.write_text(json.dumps(result, indent=1))
        if grid is not None:
            sample_grid(samples).save(grid)
            self.stdout.write(f"Sample grid written to {grid}")
