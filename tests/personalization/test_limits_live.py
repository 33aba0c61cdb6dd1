"""Limits under real concurrency: 12 threads, each with its own HTTP connection to the live server
(and so its own database connection), released together by a barrier. Each burst must get exactly
the limit, as a sequential run does: the API's per-account submit throttle, the studio's
per-visitor and per-address throttles, the daily quota (API, and anonymous studio visitors with a
fresh cookie each, held by the per-address quota) and the order throttle.

Runs on SQLite (writers take turns) and on PostgreSQL (DATABASE_URL: truly parallel transactions).
"""

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from personalization.models import GenerationRequest, UsageCounter
from shop.models import Order
from tests.factories import make_product, make_user
from tests.personalization.limits_clock import start_at_window_edge

pytestmark = [
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
    pytest.mark.usefixtures("transactional_db"),
]
THREADS = 12
LIMIT = 5
TIMEOUT = 60


@pytest.fixture
def site(live_server, settings, monkeypatch):
    """Plain http (cookies without Secure), generous limits unless a test tightens one, and the
    limits' clock at a window's start so that a burst never straddles two windows."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1000}
    start_at_window_edge(monkeypatch)
    yield live_server.url
    connection.close()


def rates(settings, **overrides):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {
        **rest["DEFAULT_THROTTLE_RATES"],
        "generation_submit_user": "1000/day",
        "generation_submit_ip": "1000/day",
        "order_create_user": "1000/day",
        **overrides,
    }
    settings.REST_FRAMEWORK = rest


def burst(prepare, send) -> list[requests.Response]:
    """``prepare(i)`` runs in each thread first (its own connection, cookies...); then all threads
    wait at the barrier and ``send(i, prepared)`` at the same moment."""
    barrier = threading.Barrier(THREADS)

    def one(i):
        prepared = prepare(i)
        barrier.wait(timeout=TIMEOUT)
        return send(i, prepared)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def codes(responses) -> Counter:
    return Counter(response.status_code for response in responses)


@pytest.fixture
def product():
    return make_product(slug="burst-tee")


def api_body(product, i):
    return {"product": product.slug, "base_color": "White", "description": "a fox", "steps": 20, "seed": i}


def studio_form(product, i):
    return {
        "product": product.slug,
        "base_color": "White",
        "description": "a lighthouse at dawn",
        "steps": "20",
        "guidance_scale": "7.5",
        "strength": "0.6",
        "seed": str(i),
        "variations": "1",
    }


def studio_browser(url, *, with_visitor: bool) -> requests.Session:
    """A browser with a CSRF cookie (and, if asked, a visitor key in its session)."""
    browser = requests.Session()
    browser.get(f"{url}/personalize/", timeout=TIMEOUT).raise_for_status()
    if with_visitor:
        browser.get(f"{url}/personalize/gallery/", timeout=TIMEOUT).raise_for_status()
        assert "sessionid" in browser.cookies
    return browser


def studio_post(url, browser: requests.Session, data) -> requests.Response:
    headers = {"HX-Request": "true", "X-CSRFToken": browser.cookies["csrftoken"]}
    return browser.post(f"{url}/personalize/", data=data, headers=headers, timeout=TIMEOUT)


# --- the API ------------------------------------------------------------------------------------


def test_api_submit_burst_gets_exactly_the_per_account_limit(site, settings, product):
    rates(settings, generation_submit_user=f"{LIMIT}/day")
    token = Token.objects.create(user=make_user()).key

    def send(i, session):
        return session.post(
            f"{site}/api/v1/generations/",
            json=api_body(product, i),
            headers={"Authorization": f"Token {token}"},
            timeout=TIMEOUT,
        )

    responses = burst(lambda i: requests.Session(), send)
    assert codes(responses) == {202: LIMIT, 429: THREADS - LIMIT}
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status_code == 429)
    assert GenerationRequest.objects.count() == LIMIT


def test_api_daily_quota_burst_gets_exactly_the_quota(site, settings, product):
    rates(settings)
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": LIMIT}
    token = Token.objects.create(user=make_user()).key

    def send(i, session):
        return session.post(
            f"{site}/api/v1/generations/",
            json=api_body(product, i),
            headers={"Authorization": f"Token {token}"},
            timeout=TIMEOUT,
        )

    responses = burst(lambda i: requests.Session(), send)
    assert codes(responses) == {202: LIMIT, 429: THREADS - LIMIT}
    refused = [r for r in responses if r.status_code == 429]
    assert all("Daily limit of 5 designs" in r.json()["detail"] for r in refused)
    assert GenerationRequest.objects.count() == LIMIT
    assert sum(UsageCounter.objects.filter(key__startswith="quota:").values_list("count", flat=True)) == LIMIT


def test_order_burst_gets_exactly_the_order_limit(site, settings):
    rates(settings, order_create_user=f"{LIMIT}/day")
    make_product(slug="order-tee")
    token = Token.objects.create(user=make_user()).key
    body = {
        "lines": [{"product": "order-tee", "base_color": "White", "quantity": 1}],
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "address_line1": "12 Harbour Street",
        "city": "Bristol",
        "postcode": "BS1 4RN",
        "country": "gb",
    }

    def send(i, session):
        return session.post(
            f"{site}/api/v1/orders/", json=body, headers={"Authorization": f"Token {token}"}, timeout=TIMEOUT
        )

    responses = burst(lambda i: requests.Session(), send)
    assert codes(responses) == {201: LIMIT, 429: THREADS - LIMIT}, [r.text[:200] for r in responses]
    assert Order.objects.count() == LIMIT


# --- the studio ---------------------------------------------------------------------------------


def test_studio_burst_gets_exactly_the_per_visitor_limit(site, settings, product):
    rates(settings, generation_submit_user=f"{LIMIT}/day")
    shared = studio_browser(site, with_visitor=True)
    cookies = shared.cookies.get_dict()

    def prepare(i):
        browser = requests.Session()  # its own connection, the same visitor
        browser.cookies.update(cookies)
        return browser

    responses = burst(prepare, lambda i, browser: studio_post(site, browser, studio_form(product, i)))
    assert codes(responses) == {201: LIMIT, 429: THREADS - LIMIT}
    for response in responses:
        if response.status_code == 429:
            assert re.search(r"Please wait \d+ (hours?|minutes?|seconds?)", response.text)
            assert int(response.headers["Retry-After"]) > 0
    assert GenerationRequest.objects.count() == LIMIT
    assert GenerationRequest.objects.values("session_key").distinct().count() == 1


def test_studio_burst_with_fresh_cookies_gets_exactly_the_per_address_limit(site, settings, product):
    rates(settings, generation_submit_ip=f"{LIMIT}/day")
    responses = burst(
        lambda i: studio_browser(site, with_visitor=False),
        lambda i, browser: studio_post(site, browser, studio_form(product, i)),
    )
    assert codes(responses) == {201: LIMIT, 429: THREADS - LIMIT}
    assert GenerationRequest.objects.count() == LIMIT
    assert GenerationRequest.objects.values("session_key").distinct().count() == LIMIT  # 5 visitors


def test_anonymous_quota_burst_with_fresh_cookies_is_held_by_the_address(site, settings, product):
    """Every request a new visitor (a new cookie), each far below its own quota: the per-address
    quota still allows exactly its number."""
    rates(settings)
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 2, "DAILY_QUOTA_PER_IP": LIMIT}
    responses = burst(
        lambda i: studio_browser(site, with_visitor=False),
        lambda i, browser: studio_post(site, browser, studio_form(product, i)),
    )
    assert codes(responses) == {201: LIMIT, 429: THREADS - LIMIT}
    assert all("Daily limit of 5 designs" in r.text for r in responses if r.status_code == 429)
    assert GenerationRequest.objects.count() == LIMIT
