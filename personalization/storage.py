"""Deterministic storage keys: a retry overwrites the same object instead of leaving orphans."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def store_bytes(name: str, data: bytes) -> str:
    """Write data at exactly `name` in the default storage (replacing any earlier object)."""
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    return saved
