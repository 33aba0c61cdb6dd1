"""Host projects other than the bundled shop, each with its own settings module.

A host's tests run only under that host's settings (``make test`` runs each with ``--ds``):
``pytest tests/hosts/oscar --ds tests.hosts.oscar.settings``. The main run (``pytest``, settings
config.settings_test) skips them, as their apps are not installed there."""

import os
from pathlib import Path

HOSTS = {"oscar": "tests.hosts.oscar.settings"}


def pytest_ignore_collect(collection_path: Path, config):
    settings = HOSTS.get(collection_path.name)
    if settings is not None and collection_path.parent == Path(__file__).parent:
        return os.environ.get("DJANGO_SETTINGS_MODULE") != settings
    return None
