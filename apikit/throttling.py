"""Cache-backed DRF throttles that fail open: when the cache cannot be reached the request goes
through, with a warning in the log, instead of a 500.

Why open: these throttles only smooth traffic (the token exchange's attempts per address). The limits
that protect money and the GPU (the submit rates and the daily quotas) are counted in the database,
not the cache, and keep holding while the cache is down. Refusing every request while the cache is
down would turn a cache outage into an outage of the API.
"""

import logging

from django.db import DatabaseError
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


def _cache_errors() -> tuple[type[BaseException], ...]:
    """What Django's cache backends raise when their store cannot be reached: the database cache's
    DatabaseError, Redis's RedisError (connection refused, timeouts), sockets' OSError (memcached)."""
    errors: list[type[BaseException]] = [DatabaseError, OSError]
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client installed: no Redis cache either
        pass
    else:
        errors.append(RedisError)
    return tuple(errors)


# A bug (a missing rate, a request without a user) is not among them and still raises.
CACHE_ERRORS = _cache_errors()


class FailOpenThrottleMixin:
    """For a throttle that keeps its history in Django's cache (DRF's ``SimpleRateThrottle`` family)."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            logger.warning(
                "throttle %s: the cache cannot be reached (%s): request let through",
                type(self).__name__,
                type(exc).__name__,
            )
            return True


class FailOpenScopedRateThrottle(FailOpenThrottleMixin, ScopedRateThrottle):
    """DRF's ``ScopedRateThrottle`` (the view's ``throttle_scope``), open when the cache is down."""
