"""config.cache.SharedRedisCache keeps one redis-py client per connection pool (Django makes one per
call), on a real Redis when REDIS_URL is set."""

import os

import pytest
from django.core.cache.backends.redis import RedisCacheClient

from config.cache import ReusedClientRedisCacheClient, SharedRedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")


def test_one_client_per_pool_across_calls_and_threads():
    from concurrent.futures import ThreadPoolExecutor

    client = ReusedClientRedisCacheClient(["redis://127.0.0.1:6379/0"])
    first = client.get_client(write=True)
    assert client.get_client(write=True) is first and client.get_client() is first
    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(lambda _: id(client.get_client()), range(16))) == {id(first)}
    # Django's own client makes a new one for every call: what this class saves.
    plain = RedisCacheClient(["redis://127.0.0.1:6379/0"])
    assert plain.get_client() is not plain.get_client()


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (the service-backed suite sets it)")
def test_the_shared_cache_works_through_its_reused_client():
    cache = SharedRedisCache(REDIS_URL, {"KEY_PREFIX": "test-reused-client"})
    assert isinstance(cache._cache, ReusedClientRedisCacheClient)
    cache.set("answer", {"n": 42}, 30)
    assert cache.get("answer") == {"n": 42}
    cache.delete("n-counter")
    assert cache.add("n-counter", 0, 30) and cache.incr("n-counter") == 1
    cache.delete_many(["answer", "n-counter"])
    assert cache.get("answer") is None
