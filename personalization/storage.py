"""Where customer files live: a private storage with unguessable, deterministic keys.

Customer files (reference photos, previews, designs, mockups, print files) are written to the storage
named by ``PERSONALIZATION["PRIVATE_STORAGE"]`` (an alias of ``settings.STORAGES``), never to the
public media storage. Keys are deterministic (a retry overwrites the same object instead of leaving
orphans) and unguessable (an HMAC of the owning row's id under SECRET_KEY).
"""

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.crypto import salted_hmac
from django.utils.functional import LazyObject, empty

from .conf import conf


class PrivateStorage(LazyObject):
    """The private storage, resolved on first use (and again after ``STORAGES`` changes in tests)."""

    def _setup(self):
        self._wrapped = storages[conf.PRIVATE_STORAGE]


private_storage = PrivateStorage()


@receiver(setting_changed)
def _reset_private_storage(*, setting, **kwargs):
    if setting in ("STORAGES", "PERSONALIZATION"):
        private_storage._wrapped = empty


def get_private_storage():
    """The callable that FileFields name as their storage (kept by reference in migrations)."""
    return private_storage


def private_token(*parts) -> str:
    """32 hex characters that only the server can compute for these parts (SECRET_KEY-keyed)."""
    return salted_hmac("personalization.storage", ":".join(str(p) for p in parts)).hexdigest()[:32]


# The folders every customer file is written under: a request's (reference, previews, variations,
# mockups) and an ordered line's (its frozen design and print files). personalization.orphans walks them.
REQUEST_ROOT = "personalization"
LINE_ROOT = "orders/designs"


def request_prefix(request_id) -> str:
    return f"{REQUEST_ROOT}/{request_id}-{private_token('request', request_id)}"


def line_prefix(line_id) -> str:
    return f"{LINE_ROOT}/{line_id}-{private_token('line', line_id)}"


def store_bytes(name: str, data: bytes) -> str:
    """Write data at exactly `name` in the private storage (replacing any earlier object)."""
    if private_storage.exists(name):
        private_storage.delete(name)
    return private_storage.save(name, ContentFile(data))
