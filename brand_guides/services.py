"""Writes of brand guides that more than one caller shares.

The brand's revision: a number that goes up whenever something that decides a design changes, so
that the personalization plugin's result cache (whose key includes it) never answers an edited
guide with a design made under the old one. ``brand_revise`` is its only writer; the receivers in
``brand_guides.signals`` call it on every path that goes through a model's ``save()`` or
``delete()`` (the admin and its inlines, the API, the shell, management commands and
``QuerySet.delete()``). What bypasses model signals bypasses it too: ``QuerySet.update()``,
``bulk_create()`` and ``bulk_update()``, and raw SQL; such code calls ``brand_revise`` itself.
"""

from django.core.exceptions import ValidationError
from django.db.models import F, FileField

from .models import Brand

# The Brand fields that decide a design's pixels or whether a design may be shown, kept or reused:
# the logo and its placement (composited onto the design and the mockup), the LoRA and its scale
# (the generation), the minimum consistency score (re-seeding and flagging), the banned terms and
# the trademark allow-list (the output check of the picture's text), the style and negative keywords
# and the palette harmonisation (the prompt and the colours), and the model preset. Not listed,
# because no picture depends on them: name, slug, description, owners, approval_policy,
# text_in_design_outcome (what happens to a picture the check refuses, not whether it is refused),
# low_resolution (the order's preflight) and the timestamps. The palette, the fonts and the protected
# names are rows of their own (PaletteColor, Typography, ProtectedName): any save or delete of one of
# them revises the brand.
DESIGN_FIELDS = (
    "logo",
    "logo_anchor",
    "logo_max_share",
    "logo_clear_space_mm",
    "lora_weights",
    "lora_scale",
    "min_consistency_score",
    "banned_terms",
    "trademark_allowlist",
    "style_keywords",
    "negative_keywords",
    "harmonize_palette",
    "model_preset",
)


def brand_revise(*, brand_id) -> int:
    """Raise the brand's revision by one, in one ``UPDATE ... SET revision = revision + 1`` (two
    concurrent edits make two bumps, never one), inside the caller's transaction: it rolls back with
    the edit. Returns the revision now stored (0: no such brand)."""
    Brand.objects.filter(pk=brand_id).update(revision=F("revision") + 1)
    return Brand.objects.filter(pk=brand_id).values_list("revision", flat=True).first() or 0


def brand_design_fields(update_fields=None) -> tuple[str, ...]:
    """The design fields a save writes (all of them, or those among ``update_fields``)."""
    if update_fields is None:
        return DESIGN_FIELDS
    return tuple(name for name in DESIGN_FIELDS if name in update_fields)


def brand_design_values(brand: Brand, fields=DESIGN_FIELDS) -> dict:
    """The design fields of an in-memory brand, comparable with ``brand_stored_design_values``: a
    file by its storage name, any other value as its field's Python type ("0.2" and 0.2 are one)."""
    return {name: _comparable(name, getattr(brand, name)) for name in fields}


def brand_stored_design_values(brand_id, fields=DESIGN_FIELDS) -> dict | None:
    """The design fields of the brand's stored row (None: no row yet)."""
    row = Brand.objects.filter(pk=brand_id).values(*fields).first()
    return None if row is None else {name: _comparable(name, value) for name, value in row.items()}


def brand_uploads_pending(brand: Brand, fields=DESIGN_FIELDS) -> bool:
    """Whether a new file was assigned to one of the brand's design file fields and is not stored yet
    (a storage that overwrites a same-named file would otherwise keep the old name)."""
    return any(
        isinstance(brand._meta.get_field(name), FileField) and not getattr(brand, name)._committed
        for name in fields
    )


def _comparable(name: str, value):
    field = Brand._meta.get_field(name)
    if isinstance(field, FileField):
        return getattr(value, "name", value) or ""
    try:
        return field.to_python(value)
    except ValidationError:  # a value the database would refuse anyway: compared as it is
        return value
