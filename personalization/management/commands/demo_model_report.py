"""Measure the demo model on held-out captions: colour adherence, motif adherence, and the demo brands'
consistency scores (personalization.engine.demo.report, docs/DEMO_MODEL.md)."""

import json
import random
from pathlib import Path

from django.core.management.base import BaseCommand


def storefront_prompts(brand, count: int, rng: random.Random) -> tuple[tuple[str, str], ...]:
    """``count`` whole prompts as the studio builds them for ``brand``: a customer's words without
    colours (``report.customer_words``) on one of its published products, in one of the product's
    base colours, with a material and a style the product offers."""
    from personalization.engine.demo.report import customer_words
    from personalization.hosts import host
    from personalization.selectors import offered_presets
    from personalization.services import studio_prompts

    adapter = host()
    infos = [i for i in adapter.product_infos(adapter.products()) if i.brand_id == brand.pk and i.base_colors]
    if not infos or count <= 0:
        return ()
    offers = {info.pk: [list(presets) for presets in offered_presets(info)] for info in infos}
    out = []
    for _ in range(count):
        info = rng.choice(infos)
        offered_materials, offered_styles = offers[info.pk]
        built = studio_prompts(
            info=info,
            color=rng.choice(info.base_colors),
            description=customer_words(rng),
            style=rng.choice(offered_styles) if offered_styles else None,
            material=rng.choice(offered_materials) if offered_materials else None,
            brand=brand,
        )
        out.append((built.prompt, built.negative_prompt))
    return tuple(out)


def brands_from_database(*, storefront: int = 0):
    """The brands with a palette, as the report takes them, each with ``storefront`` whole prompts."""
    from brand_guides.models import Brand as BrandModel
    from personalization.engine.demo.report import Brand
    from personalization.specs import PaletteColorSpec

    out = []
    rng = random.Random(0)
    for brand in BrandModel.objects.prefetch_related("palette").order_by("name"):
        palette = [PaletteColorSpec(name=c.name, hex=c.hex, role=c.role) for c in brand.palette.all()]
        if palette:
            out.append(
                Brand(
                    name=brand.name,
                    palette=palette,
                    min_score=brand.min_consistency_score,
                    storefront=storefront_prompts(brand, storefront, rng),
                )
            )
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
        parser.add_argument(
            "--storefront",
            type=int,
            default=None,
            help="Whole storefront prompts per brand (default: as many as --per-brand; 0: none).",
        )
        parser.add_argument("--size", type=int, default=128)
        parser.add_argument("--steps", type=int, default=20)
        parser.add_argument("--guidance", type=float, default=7.5)
        parser.add_argument(
            "--json", dest="json_path", type=Path, default=None, help="Write the figures here too."
        )
        parser.add_argument("--grid", type=Path, default=None, help="Write a PNG grid of samples here.")
        parser.add_argument(
            "--storefront-grid",
            type=Path,
            default=None,
            help="Write a PNG grid of each brand's first 8 whole storefront prompts, as drawn, here.",
        )

    def handle(
        self,
        *args,
        directory,
        count,
        per_brand,
        storefront,
        size,
        steps,
        guidance,
        json_path,
        grid,
        storefront_grid,
        **options,
    ):
        from personalization.engine.core import Engine
        from personalization.engine.demo import report
        from personalization.engine.demo.train import DEMO_MODEL_DIR

        engine = Engine(str(directory or DEMO_MODEL_DIR), preset="sd21", device="cpu", dtype="float32")
        result = report.run_report(
            engine,
            count=count,
            size=size,
            steps=steps,
            guidance=guidance,
            brands=brands_from_database(storefront=per_brand if storefront is None else storefront),
            per_brand=per_brand,
            progress=lambda line: self.stderr.write(line),
        )
        samples, storefront_samples = result.pop("samples"), result.pop("storefront_samples")
        self.stdout.write(report.format_report(result))
        if json_path is not None:
            json_path.write_text(json.dumps(result, indent=1))
        if grid is not None:
            report.sample_grid(samples).save(grid)
            self.stdout.write(f"Sample grid written to {grid}")
        if storefront_grid is not None:
            report.storefront_grid(storefront_samples).save(storefront_grid)
            self.stdout.write(f"Storefront grid written to {storefront_grid}")
