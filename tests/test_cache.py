"""The shared cache (config/cache.py): every process sees the same throttle counts, and a cache that
is down lets requests through (cache-backed throttles fail open, the preflight cache is a miss) while
the database-counted limits keep holding."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.utils import timezone

from apikit.throttling import FailOpenScopedRateThrottle
from config.cache import REDIS_OPTIONS, caches_for
from personalization import caching, health, limits
from personalization.models import WorkerHeartbeat
from tests.worker_fixtures import database_url_for_workers

ROOT = Path(__file__).resolve().parent.parent
DATABASE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}
}
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")


def test_the_cache_is_chosen_from_cache_url_then_redis_url_then_the_database():
    assert caches_for(cache_url="", redis_url="") == DATABASE_CACHE
    assert caches_for(cache_url="", redis_url="redis://r:6379/0") == {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": "redis://r:6379/0",
            "KEY_PREFIX": "cache",
            "OPTIONS": REDIS_OPTIONS,
        }
    }
    own = caches_for(cache_url="redis://r:6379/1?key_prefix=shop", redis_url="redis://r:6379/0")["default"]
    assert (own["BACKEND"], own["LOCATION"], own["KEY_PREFIX"]) == (
        "config.cache.SharedRedisCache",
        "redis://r:6379/1",
        "shop",
    )
    assert "key_prefix" not in own  # Django reads KEY_PREFIX only
    local = caches_for(cache_url="locmemcache://", redis_url="redis://r:6379/0")["default"]
    assert local["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _token_request(address="203.0.113.9"):
    request = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    return request


class _TokenView:
    throttle_scope = "auth_token"  # 20/min (config/settings.py)


@pytest.fixture
def redis_down():
    down = caches_for(cache_url="", redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with override_settings(CACHES=down):
        yield


def test_with_the_cache_down_cache_backed_throttles_let_requests_through(redis_down, caplog):
    throttle = FailOpenScopedRateThrottle()
    with caplog.at_level(logging.WARNING, logger="apikit.throttling"):
        assert all(throttle.allow_request(_token_request(), _TokenView()) for _ in range(25))
    assert "FailOpenScopedRateThrottle: the cache cannot be reached (ConnectionError)" in caplog.text
    request = RequestFactory().post("/")  # a bug (no user on the request) is not a cache outage
    with pytest.raises(AttributeError):
        throttle.allow_request(request, _TokenView())


@pytest.mark.django_db
def test_with_the_cache_down_the_database_limits_still_hold(redis_down):
    at = timezone.now().replace(second=10)
    assert [limits.take(key="rate:test:x", limit=2, window=60, at=at)[0] for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_with_the_cache_down_the_preflight_cache_is_a_miss(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="personalization.caching"):
        assert caching.cache_set("personalization:preflight:k", {"ok": True}, 60) is False
        assert caching.cache_get("personalization:preflight:k") is None
    assert (
        "cache unreachable (ConnectionError): personalization:preflight:k is computed afresh" in caplog.text
    )


@pytest.mark.django_db
def test_with_the_cache_down_readyz_says_degraded_but_ready(redis_down, client):
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="h:1", host="h", pid=1, started_at=now, last_seen=now)
    response = client.get("/readyz")
    body = response.json()
    assert (response.status_code, body["status"], body["degraded"]) == (200, "degraded", ["cache"])
    assert (
        body["checks"]["cache"]["detail"] == "unreachable (ConnectionError): throttles let requests through"
    )


@pytest.mark.django_db
def test_with_the_cache_down_the_storefront_still_renders(redis_down, client, caplog):
    # Every page's context asks the cache which model presets the catalogue chooses (the demo banner).
    with caplog.at_level(logging.WARNING, logger="personalization.caching"):
        assert client.get("/").status_code == 200
    assert "personalization:chosen-presets is computed afresh" in caplog.text


@pytest.mark.django_db
def test_with_the_cache_down_a_new_visitor_gets_a_session_and_a_returning_one_keeps_it(redis_down, caplog):
    from django.conf import settings as django_settings
    from django.contrib.sessions.models import Session

    from config.sessions import SessionStore

    assert django_settings.SESSION_ENGINE == "config.sessions"
    with caplog.at_level(logging.WARNING, logger="config.sessions"):
        new = SessionStore()
        new["visitor_key"] = "visitor-k"
        new.save()  # a new key: Django's cached_db asked the cache whether it exists and failed
        assert Session.objects.filter(session_key=new.session_key).exists()
        assert SessionStore(new.session_key)["visitor_key"] == "visitor-k"  # read back: the database's
    assert "session cache unreachable (ConnectionError): whether the key exists" in caplog.text
    assert "session cache unreachable (ConnectionError): the session from the database" in caplog.text


@pytest.mark.django_db
def test_with_the_cache_down_a_visitors_pages_render(redis_down):
    from django.test import Client

    from tests.factories import visitor

    me = visitor(Client(), "visitor-down")  # the test client makes its session as a browser's first visit
    assert me.get("/").status_code == 200
    assert me.session["visitor_key"] == "visitor-down"


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_database_caches_table():
    from django.db import connection

    with override_settings(CACHES=DATABASE_CACHE):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS django_cache")
        assert "django_cache" not in connection.introspection.table_names()
        call_command("migrate", verbosity=0)  # shop.apps: createcachetable after migrate
        assert "django_cache" in connection.introspection.table_names()
        cache.set("made", 1)
        assert cache.get("made") == 1
        cache.clear()


def test_with_the_cache_up_the_throttle_refuses_past_its_rate():
    throttle = FailOpenScopedRateThrottle()
    allowed = [throttle.allow_request(_token_request("198.51.100.4"), _TokenView()) for _ in range(21)]
    assert allowed == [True] * 20 + [False]
    assert health.check_cache().status == health.OK


# A second process takes 20 tokens' worth of attempts from the same address under the same rate.
OTHER_PROCESS = """
import django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from apikit.throttling import FailOpenScopedRateThrottle

class View:
    throttle_scope = "auth_token"

request = RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="192.0.2.77")
request.user = AnonymousUser()
print(sum(FailOpenScopedRateThrottle().allow_request(request, View()) for _ in range(20)))
"""


def _other_process_allows(cache_url: str) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_for_workers(),
        "CACHE_URL": cache_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return int(result.stdout.strip().splitlines()[-1])


def _shared_count(cache_url: str) -> None:
    """This process takes 5 of the 20 a minute; the other process then gets exactly 15; and this one
    is refused after that: one count for both."""
    throttle = FailOpenScopedRateThrottle()
    assert all(throttle.allow_request(_token_request("192.0.2.77"), _TokenView()) for _ in range(5))
    assert _other_process_allows(cache_url) == 15
    assert throttle.allow_request(_token_request("192.0.2.77"), _TokenView()) is False


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_throttle_count_in_the_database_cache():
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable")  # what migrate does (shop.apps); the suite's cache is local memory
        cache.clear()
        try:
            _shared_count("dbcache://django_cache")
        finally:
            cache.clear()


@needs_redis
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_throttle_count_in_redis():
    with override_settings(CACHES=caches_for(cache_url="", redis_url=settings.REDIS_URL)):
        cache.clear()
        _shared_count("")  # the other process: REDIS_URL from the environment, as every process


@needs_redis
@pytest.mark.services
def test_two_redis_clients_see_one_count_and_clearing_keeps_the_brokers_keys():
    from django.core.cache import caches

    with override_settings(CACHES=caches_for(cache_url="", redis_url=settings.REDIS_URL)):
        first, second = caches.create_connection("default"), caches.create_connection("default")
        assert first._cache is not second._cache  # two clients, two connection pools
        first.set("throttle_probe", 0)
        for _ in range(3):
            first.incr("throttle_probe")
        assert second.get("throttle_probe") == 3

        raw = first._cache.get_client(write=True)
        raw.set("django_q:web:test-queue-key", b"a task")  # a django-q2 broker key, unprefixed
        try:
            first.clear()
            assert second.get("throttle_probe") is None
            assert raw.get("django_q:web:test-queue-key") == b"a task"
        finally:
            raw.delete("django_q:web:test-queue-key")
