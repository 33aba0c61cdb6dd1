"""Settings for the test suite: the production settings with a throwaway key and a fast hasher.

DEBUG stays off, as in production; DATABASE_URL / REDIS_URL / AWS_* from the environment still
select PostgreSQL, Redis and S3 (as .ci/run does)."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")


def _per_xdist_worker(environ) -> None:
    """Under pytest-xdist (``pytest -n 2``) each worker gets its own share of the services named in the
    environment, so that parallel workers never see each other's queues, cache keys or files: Redis
    database ``1 + n`` of REDIS_URL's server for worker ``gwN`` (django-q2's queues, the cache, whose
    ``clear()`` runs around every test), and the buckets ``NAME-gwN`` for AWS_STORAGE_BUCKET_NAME and
    AWS_PRIVATE_BUCKET_NAME (scripts/ci_s3_buckets.py --xdist-workers makes them). pytest-django gives
    each worker its own test database. Rewritten in ``os.environ``, so the processes a test starts (a
    real GPU worker) use the same; idempotent, as those processes import these settings again."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    index = int(worker.removeprefix("gw"))
    if environ.get("REDIS_URL"):
        parts = urlsplit(environ["REDIS_URL"])
        if index + 1 > 15:
            raise ValueError(f"{worker}: Redis has databases 0-15; run at most 15 xdist workers")
        environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{index + 1}"))
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_PRIVATE_BUCKET_NAME"):
        bucket = environ.get(name, "")
        if bucket and not bucket.endswith(f"-{worker}"):
            environ[name] = f"{bucket}-{worker}"


_per_xdist_worker(os.environ)

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # One file per test run (a real worker process opens it too); runs side by side never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

# Tests do not run collectstatic: plain static storage (no manifest) keeps admin pages rendering.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True

# The suite checks the built-in presets; the CPU demo's smaller default size (config/settings.py)
# is a `make run` choice, tested on its own (tests/test_settings.py).
PERSONALIZATION = {**PERSONALIZATION, "PRESET_OVERRIDES": {}}  # noqa: F405
# No orphan-file sweep from the periodic sweep: the S3 runs share one bucket across tests, and a
# test's fake clock would reach other tests' files. tests/personalization/test_orphans.py turns it on.
PERSONALIZATION["ORPHAN_SWEEP_SECONDS"] = 0

# The cache: Redis or CACHE_URL as configured (as .ci/run does); instead of the default database cache,
# local memory: tests/conftest.py clears the cache around every test, also in tests that have no
# database access. The database cache is tested on its own (tests/test_cache.py).
if CACHES["default"]["BACKEND"].endswith("DatabaseCache") and not os.environ.get("CACHE_URL"):  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
