import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.worker_fixtures"]

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    skips = []
    if not CHROMIUM.exists():
        skips.append(
            (
                "browser",
                "/usr/bin/chromium is absent: browser test skipped (apt-get install -y chromium)",
            )
        )
    if os.environ.get("SKIP_ONE_SETUP", "") not in ("", "0"):
        skips.append(
            (
                "one_setup",
                "SKIP_ONE_SETUP is set: this process-level test runs in one setup only (.ci/run stage 1)",
            )
        )
    for keyword, reason in skips:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if keyword in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _web(settings):
    """DEBUG is off in tests: plain http, static URLs without a collectstatic manifest, and an empty
    cache on each side of every test."""
    from django.core.cache import cache

    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes media into its own folder (local storage); S3 runs keep their bucket."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    private = settings.STORAGES["personalization_private"]
    if private["BACKEND"].endswith("FileSystemStorage"):  # customer files too (personalization.files)
        options = {**private.get("OPTIONS", {}), "location": str(tmp_path / "private")}
        settings.STORAGES = {**settings.STORAGES, "personalization_private": {**private, "OPTIONS": options}}
        settings.SENDFILE_ROOT = str(tmp_path / "private")
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)
    shutil.rmtree(tmp_path / "private", ignore_errors=True)


@pytest.fixture
def me(client):
    """The test client as the visitor "visitor-me"."""
    from tests.factories import visitor

    return visitor(client, "visitor-me")


@pytest.fixture
def stranger():
    """Another browser: the visitor "visitor-stranger"."""
    from django.test import Client

    from tests.factories import visitor

    return visitor(Client(), "visitor-stranger")
