"""The plugin's use of the shared cache (``django.core.cache.cache``): a cache that cannot be reached
is a miss. What the plugin keeps there (the preflight of a design) is recomputed from the database
and files, so an outage costs time, never a failed request; each failure is logged as a warning."""

import logging
from typing import Any

from django.core.cache import cache

from apikit.throttling import CACHE_ERRORS

logger = logging.getLogger(__name__)


def cache_get(key: str) -> Any | None:
    """The cached value, or None when missing or when the cache cannot be reached."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as exc:  # the store cannot be reached (redis, the database, a socket)
        logger.warning("cache unreachable (%s): %s is computed afresh", type(exc).__name__, key)
        return None


def cache_set(key: str, value: Any, timeout: int) -> bool:
    """Keep ``value``; False (nothing kept) when the cache cannot be reached."""
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as exc:
        logger.warning("cache unreachable (%s): %s is not kept", type(exc).__name__, key)
        return False
    return True
