"""Train the demo model (docs/DEMO_MODEL.md): a small pipeline in SD 2.1's layout, on generated pattern
designs. Resumable: run it again on the same folder and it goes on from its checkpoint."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import models


def catalogue_words() -> list[str]:
    """The words the prompt builder may send: its own phrases, and every text of the brands, material
    presets, styles and products in the database (run ``seed_demo`` first for the demo catalogue)."""
    from personalization import product_types, prompting

    texts: list[str] = [
        prompting.PHOTOGRAPHY_SUFFIX,
        prompting.PLAIN_BACKGROUND,
        *prompting.BASE_NEGATIVE,
        *prompting.PLAIN_BACKGROUND_NEGATIVE,
        *prompting.FINISH_PHRASES.values(),
    ]
    for row in product_types.PRODUCT_TYPES.values():
        if row.placement is not None:
            texts += [row.placement.noun, row.placement.phrase]
    names = ["brand_guides", "personalization"]
    model_list = [m for name in names for m in apps.get_app_config(name).get_models()]
    model_list.append(apps.get_model(settings.PERSONALIZATION["PRODUCT_MODEL"]))
    for model in model_list:
        if model._meta.app_label == "personalization" and model.__name__ != "Style":
            continue  # customers' requests and records: not vocabulary
        fields = [
            f.name for f in model._meta.get_fields() if isinstance(f, (models.CharField, models.TextField))
        ]
        fields = [f for f in fields if f not in {"hex", "slug", "sku"}]
        for values in model.objects.values_list(*fields):
            texts += [v for v in values if isinstance(v, str)]
    return texts


def studio_frames() -> list[list[str]]:
    """What the studio's prompt builder adds after a customer's words (``prompting.enrichment_phrases``)
    for every published product with a brand, in each of its base colours, with each material and
    style it offers (and none), the brand's palette phrase replaced by ``data.PALETTE_SLOT``: the
    demo model is trained on the shop's whole prompts (``data.studio_caption``)."""
    from brand_guides.models import Brand
    from personalization.conditioning import brand_spec, material_spec, product_spec, style_spec
    from personalization.engine.demo.data import PALETTE_SLOT
    from personalization.hosts import host
    from personalization.prompting import enrichment_phrases, palette_phrase
    from personalization.selectors import offered_presets

    adapter = host()
    brands = Brand.objects.prefetch_related("palette").in_bulk()
    frames: dict[tuple[str, ...], None] = {}
    for info in adapter.product_infos(adapter.products()):
        brand = brands.get(info.brand_id)
        if brand is None or not info.is_published:
            continue
        spec = brand_spec(brand)
        palette = palette_phrase(spec)
        materials, styles = (list(presets) for presets in offered_presets(info))
        for color in info.base_colors:
            product = product_spec(info, base_color_name=color.name, base_color_hex=color.hex)
            for material in [None, *materials]:
                for style in [None, *styles]:
                    phrases = enrichment_phrases(
                        product=product, style=style_spec(style), material=material_spec(material), brand=spec
                    )
                    frames[tuple(PALETTE_SLOT if p == palette else p for p in phrases)] = None
    return [list(frame) for frame in frames]


class Command(BaseCommand):
    help = (
        "Train the demo model on generated pattern designs: the VAE, then the UNet and text encoder. "
        "Resumable (checkpoint.pt in the folder). Default folder: the committed demo model's."
    )

    def add_arguments(self, parser):
        from personalization.engine.demo.train import TrainConfig

        defaults = TrainConfig()
        parser.add_argument("directory", type=Path, nargs="?", default=None)
        parser.add_argument(
            "--minutes", type=float, default=defaults.minutes, help="Time budget, all three phases."
        )
        parser.add_argument("--size", type=int, default=defaults.size, help="Design size in pixels.")
        parser.add_argument("--designs", type=int, default=defaults.designs)
        parser.add_argument("--batch", type=int, default=defaults.batch)
        parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default).")
        parser.add_argument("--device", default="auto", help="auto (a CUDA GPU when present), cpu, cuda ...")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--init-from",
            default="",
            help="A trained demo pipeline folder to go on from (its weights; the VAE is kept).",
        )
        parser.add_argument("--keep-checkpoint", action="store_true", help="Keep checkpoint.pt at the end.")

    def handle(
        self,
        *args,
        directory,
        minutes,
        size,
        designs,
        batch,
        threads,
        device,
        seed,
        keep_checkpoint,
        init_from,
        **options,
    ):
        from personalization.engine.demo.train import DEMO_MODEL_DIR, TrainConfig, train

        directory = directory or DEMO_MODEL_DIR
        config = TrainConfig(
            minutes=minutes,
            size=size,
            designs=designs,
            batch=batch,
            threads=threads,
            device=device,
            seed=seed,
            extra_words=catalogue_words(),
            frames=studio_frames(),
            init_from=str(init_from or ""),
        )
        self.stdout.write(f"Training the demo model into {directory} for {minutes:g} min ...")
        path = train(directory, config, progress=lambda line: self.stdout.write(line))
        if not keep_checkpoint:
            (Path(path) / "checkpoint.pt").unlink(missing_ok=True)
        self.stdout.write(self.style.SUCCESS(f"Demo model written to {path}"))
