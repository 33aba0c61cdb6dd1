"""Where brand files that must not be public live: the plugin's private storage.

A shop's fonts are licensed to it, not to its visitors, so ``Typography.font_file`` is written to the
storage alias named by ``PERSONALIZATION["PRIVATE_STORAGE"]`` (default "personalization_private", the
one customer files use) instead of the public media storage. brand_guides does not import the
personalization app, so it reads the alias from the settings itself.
"""

import posixpath
import secrets

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.deconstruct import deconstructible
from django.utils.functional import LazyObject, empty

DEFAULT_ALIAS = "personalization_private"


class BrandPrivateStorage(LazyObject):
    def _setup(self):
        alias = (getattr(settings, "PERSONALIZATION", None) or {}).get("PRIVATE_STORAGE", DEFAULT_ALIAS)
        self._wrapped = storages[alias]


brand_private_storage = BrandPrivateStorage()


@deconstructible
class UniqueUploadTo:
    """``<prefix><random>/<file name>``: every upload gets a folder of its own. Storages that
    overwrite a name that exists (S3 with django-storages' default ``file_overwrite``, the private
    storage) would otherwise let two brands' "logo.png" replace each other, and a replaced file
    would keep its name, so nothing could tell that the brand's logo changed (its revision)."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self, instance, filename: str) -> str:
        return f"{self.prefix}{secrets.token_hex(8)}/{posixpath.basename(filename)}"

    def __eq__(self, other) -> bool:
        return isinstance(other, UniqueUploadTo) and other.prefix == self.prefix


def font_upload_to(instance, filename: str) -> str:
    """``brands/fonts/<brand pk>/<random>/<file name>``: the private storage overwrites a name that
    exists (its keys are deterministic), so every upload gets a folder of its own and two brands'
    "Logo-Bold.ttf" never replace each other."""
    return f"brands/fonts/{instance.brand_id}/{secrets.token_hex(8)}/{posixpath.basename(filename)}"


def get_brand_private_storage():
    """The callable that FileFields name as their storage (kept by reference in migrations)."""
    return brand_private_storage


@receiver(setting_changed)
def _reset(*, setting, **kwargs):
    if setting in ("STORAGES", "PERSONALIZATION"):
        brand_private_storage._wrapped = empty
