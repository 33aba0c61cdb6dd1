"""The shared cache (``settings.CACHES``): one store for every web and worker process, so what is
kept there (the counts of cache-backed throttles, the preflight cache, django-q2's cluster stats)
is the same under gunicorn's many workers as in one process.

``caches_for`` picks it: ``CACHE_URL`` when set (django-environ's cache URL: ``redis://host:6379/1``,
``dbcache://django_cache``, ``locmemcache://``), else Redis at ``REDIS_URL`` under its own key prefix,
else the database (the ``django_cache`` table: ``migrate`` makes it, shop.apps). Local memory
only when asked for: each process would count on its own.
"""

import environ
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

TABLE = "django_cache"
KEY_PREFIX = "cache"
# A Redis that is down or unreachable answers within a second, so a request never hangs on it: the
# throttles let the request through and the preflight is computed afresh (docs/WORKER.md, "Health").
REDIS_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis-py client per connection pool. Django makes a
    new ``redis.Redis`` for every cache call, and each builds its table of response callbacks (about
    half a millisecond of CPU, several times per status poll). A redis-py client is safe to share
    between threads (each command takes a connection from the pool) and its pool reconnects in a
    forked process."""

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    """Django's Redis cache whose ``clear()`` deletes only its own keys (``KEY_PREFIX``), never the
    whole database: the django-q2 broker's queues may live in the same one. Its client keeps one
    redis-py client per pool (``ReusedClientRedisCacheClient``)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    def clear(self) -> bool:
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return True


def caches_for(*, cache_url: str, redis_url: str) -> dict:
    """``settings.CACHES`` for these two environment values (see the module's docstring)."""
    if cache_url:
        config = environ.Env.cache_url_config(cache_url)
    elif redis_url:
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    else:
        config = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": TABLE}
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        prefix = config.pop("key_prefix", None) or KEY_PREFIX  # Django reads KEY_PREFIX only
        config = {
            **config,
            "BACKEND": "config.cache.SharedRedisCache",
            "KEY_PREFIX": prefix,
            "OPTIONS": {**REDIS_OPTIONS, **(config.get("OPTIONS") or {})},
        }
    return {"default": config}
