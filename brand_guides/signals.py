"""Receivers that keep ``Brand.revision`` current (connected in ``BrandGuidesConfig.ready``).

A Brand save compares the design fields it writes with the stored row: ``pre_save`` reads the row
(one SELECT, only when a design field is written), ``post_save`` compares it with what was saved,
once the files are in storage and have their final names. A save or delete of a palette colour, a
font or a protected name always revises its brand: the admin saves only the inline rows that changed.
"""

from django.db.models.signals import post_delete, post_save, pre_save

from .models import Brand, PaletteColor, ProtectedName, Typography
from .services import (
    brand_design_fields,
    brand_design_values,
    brand_revise,
    brand_stored_design_values,
    brand_uploads_pending,
)

BRAND_PARTS = (PaletteColor, Typography, ProtectedName)


def brand_before_save(sender, instance: Brand, update_fields=None, **kwargs) -> None:
    fields = brand_design_fields(update_fields)
    stored = brand_stored_design_values(instance.pk, fields) if fields and instance.pk is not None else None
    instance._design_before = (fields, stored, brand_uploads_pending(instance, fields))


def brand_after_save(sender, instance: Brand, **kwargs) -> None:
    fields, stored, new_upload = instance.__dict__.pop("_design_before", ((), None, False))
    if stored is None:  # a new brand starts at revision 1
        return
    if new_upload or brand_design_values(instance, fields) != stored:
        instance.revision = brand_revise(brand_id=instance.pk)


def brand_part_changed(sender, instance, **kwargs) -> None:
    revision = brand_revise(brand_id=instance.brand_id)
    if sender.brand.is_cached(instance):  # the caller's brand object reads the new number too
        instance.brand.revision = revision


def connect() -> None:
    pre_save.connect(brand_before_save, sender=Brand, dispatch_uid="brand_guides.brand_before_save")
    post_save.connect(brand_after_save, sender=Brand, dispatch_uid="brand_guides.brand_after_save")
    for model in BRAND_PARTS:
        label = model._meta.model_name
        post_save.connect(brand_part_changed, sender=model, dispatch_uid=f"brand_guides.{label}_saved")
        post_delete.connect(brand_part_changed, sender=model, dispatch_uid=f"brand_guides.{label}_deleted")
