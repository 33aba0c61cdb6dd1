"""Reads of brand guides shared by the storefront, the API and the admin."""

from django.db.models import Q, QuerySet

from .models import MaterialPreset, StylePreset


def offered_for_brand_q(brand_id) -> Q:
    """Presets a brand's products may use: the shared ones (no brand) and the brand's own."""
    shared = Q(brand__isnull=True)
    return shared if brand_id is None else shared | Q(brand_id=brand_id)


def material_presets_for(*, brand_id=None) -> QuerySet[MaterialPreset]:
    return MaterialPreset.objects.filter(offered_for_brand_q(brand_id))


def style_presets_for(*, brand_id=None) -> QuerySet[StylePreset]:
    return StylePreset.objects.filter(offered_for_brand_q(brand_id))


def preset_offered_for(preset, *, brand_id) -> bool:
    return preset.brand_id is None or preset.brand_id == brand_id
