"""Edits of a brand guide, shared by the revision tests (tests/brand_guides/test_revision.py) and the
result-cache tests (tests/personalization/test_cache_revision.py): each takes a brand fresh from the
database and changes one thing through the model API, as the admin, the API or the shell would."""

from django.core.files.base import ContentFile

from brand_guides.models import Brand, PaletteColor, ProtectedName, Typography
from tests import font_files
from tests.brand_guides.test_lora_validation import LORA, safetensors_bytes
from tests.factories import make_brand, png


def revised_brand(**fields) -> Brand:
    """A brand with something of each kind to change: a palette, a logo, a heading font and a
    protected name."""
    brand = make_brand(**fields)
    brand.logo.save("logo.png", ContentFile(png(color=(20, 40, 200))), save=True)
    Typography.objects.create(brand=brand, role="heading", font_family="Lato").font_file.save(
        "Lato-Regular.ttf", ContentFile(font_files.lato())
    )
    ProtectedName.objects.create(brand=brand, name="Zorblax Quux", kind="character")
    return Brand.objects.get(pk=brand.pk)


def set_fields(**values):
    def edit(brand: Brand) -> None:
        for name, value in values.items():
            setattr(brand, name, value)
        brand.save()

    return edit


def replace_logo(brand: Brand) -> None:
    brand.logo.save("logo.png", ContentFile(png(color=(200, 40, 20))), save=True)  # the same file name


def add_lora(brand: Brand) -> None:
    brand.lora_weights.save("house-style.safetensors", ContentFile(safetensors_bytes(LORA)), save=True)


def add_colour(brand: Brand) -> None:
    PaletteColor.objects.create(brand=brand, name="Mint", hex="#98FF98", role="accent", position=9)


def change_colour(brand: Brand) -> None:
    colour = brand.palette.first()
    colour.hex = "#000000"
    colour.save()


def remove_colour(brand: Brand) -> None:
    brand.palette.first().delete()


def add_font(brand: Brand) -> None:
    row = Typography(brand=brand, role="body", font_family="")
    row.font_file.save("FredokaOne-Regular.ttf", ContentFile(font_files.fredoka_one()), save=False)
    row.full_clean()
    row.save()


def replace_font(brand: Brand) -> None:
    row = brand.typography.get(role="heading")
    row.font_file.save("FredokaOne-Regular.ttf", ContentFile(font_files.fredoka_one()), save=False)
    row.font_family = "Fredoka One"
    row.save()


def remove_font(brand: Brand) -> None:
    brand.typography.get(role="heading").delete()


def add_protected_name(brand: Brand) -> None:
    ProtectedName.objects.create(brand=brand, name="Famous Painter", kind="artist", outcome="review")


def remove_protected_name(brand: Brand) -> None:
    brand.protected_names.get().delete()


# name -> (the Brand field it changes, or None for a row of its own; the edit)
DESIGN_EDITS = {
    "palette-colour-added": (None, add_colour),
    "palette-colour-changed": (None, change_colour),
    "palette-colour-removed": (None, remove_colour),
    "logo-replaced": ("logo", replace_logo),
    "logo_anchor": ("logo_anchor", set_fields(logo_anchor="top-left")),
    "logo_max_share": ("logo_max_share", set_fields(logo_max_share=0.35)),
    "logo_clear_space_mm": ("logo_clear_space_mm", set_fields(logo_clear_space_mm=8.0)),
    "lora_weights": ("lora_weights", add_lora),
    "lora_scale": ("lora_scale", set_fields(lora_scale=1.2)),
    "min_consistency_score": ("min_consistency_score", set_fields(min_consistency_score=75.0)),
    "banned_terms": ("banned_terms", set_fields(banned_terms="zebra")),
    "trademark_allowlist": ("trademark_allowlist", set_fields(trademark_allowlist="Acme")),
    "style_keywords": ("style_keywords", set_fields(style_keywords="bold ink lines")),
    "negative_keywords": ("negative_keywords", set_fields(negative_keywords="blurry")),
    "harmonize_palette": ("harmonize_palette", set_fields(harmonize_palette=True)),
    # "sd21" is also the default preset: the recipe is the same, only the revision tells them apart.
    "model_preset": ("model_preset", set_fields(model_preset="sd21")),
    "font-added": (None, add_font),
    "font-replaced": (None, replace_font),
    "font-removed": (None, remove_font),
    "protected-name-added": (None, add_protected_name),
    "protected-name-removed": (None, remove_protected_name),
}

# Edits that decide no picture: a design made before them is still the right answer.
OTHER_EDITS = {
    "name": set_fields(name="Renamed brand"),
    "description": set_fields(description="A new story about the brand."),
    "approval_policy": set_fields(approval_policy="manual"),
    "text_in_design_outcome": set_fields(text_in_design_outcome="reject"),
    "low_resolution": set_fields(low_resolution="block"),
    "nothing": set_fields(),
}
