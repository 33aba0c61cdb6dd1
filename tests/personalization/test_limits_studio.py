"""The studio's throttles (the API's rates: per account or visitor, and per client address, with
NUM_PROXIES), the card that says when to try again, and the all-or-nothing rule of the API's
throttles."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from personalization import limits
from personalization.models import GenerationRequest, UsageCounter
from tests.factories import make_product, make_user, visitor
from tests.personalization.api.conftest import throttle_rates, token_client  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
HX = {"HTTP_HX_REQUEST": "true"}
STUDIO = "/personalize/"
API = "/api/v1/generations/"


@pytest.fixture
def product():
    return make_product(slug="classic-tee")


def data(product, seed=42):
    return {
        "product": product.slug,
        "base_color": "Black",
        "description": "a lighthouse on a cliff at dawn",
        "steps": "20",
        "guidance_scale": "7.5",
        "strength": "0.6",
        "seed": str(seed),
        "variations": "1",
    }


def waited(response) -> int:
    """The seconds in the card's words ("Please wait 42 seconds") must be the Retry-After's."""
    match = re.search(r"Please wait (\d+) (second|minute)s?", response.content.decode())
    assert match, response.content.decode()
    seconds = int(match[1]) * (60 if match[2] == "minute" else 1)
    assert seconds == int(response["Retry-After"])
    return seconds


def test_a_throttled_htmx_submit_gets_a_card_in_the_form_saying_when(me, product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="2/min", generation_submit_ip="100/min")
    codes = [me.post(STUDIO, data(product, seed=i), **HX).status_code for i in range(2)]
    assert codes == [201, 201]
    response = me.post(STUDIO, data(product, seed=9), **HX)
    assert response.status_code == 429
    assert 0 < waited(response) <= 60
    assert response["HX-Retarget"] == "#studio-form" and response["HX-Reswap"] == "afterbegin"
    html = response.content.decode()
    # Removed by the form's next submit (its hx-on::before-request clears .form-errors).
    assert 'class="form-errors throttle-card"' in html and 'role="alert"' in html
    assert "<html" not in html
    assert GenerationRequest.objects.count() == 2


def test_a_throttled_plain_post_gets_a_full_page(me, product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="1/min", generation_submit_ip="100/min")
    assert me.post(STUDIO, data(product)).status_code == 302
    response = me.post(STUDIO, data(product, seed=2))
    assert response.status_code == 429
    assert 0 < waited(response) <= 60
    html = response.content.decode()
    assert "<html" in html and "Back to the studio" in html
    assert GenerationRequest.objects.count() == 1


def test_a_throttled_submit_creates_and_charges_nothing(me, product, settings, throttle_rates):  # noqa: F811
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 5}
    throttle_rates(generation_submit_user="1/min", generation_submit_ip="100/min")
    me.post(STUDIO, data(product), **HX)
    for i in range(3):
        assert me.post(STUDIO, data(product, seed=i), **HX).status_code == 429
    quota_units = UsageCounter.objects.filter(key__startswith="quota:").values_list("count", flat=True)
    assert list(quota_units) and set(quota_units) == {1}
    assert GenerationRequest.objects.count() == 1


def test_the_address_limit_holds_across_fresh_cookies(product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="100/min", generation_submit_ip="2/min")
    codes = [Client().post(STUDIO, data(product, seed=i), **HX).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    other = Client(REMOTE_ADDR="198.51.100.20").post(STUDIO, data(product), **HX)
    assert other.status_code == 201


def test_rotating_forwarded_for_behind_one_proxy_does_not_reset_it(product, throttle_rates):  # noqa: F811
    throttle_rates(num_proxies=1, generation_submit_user="100/min", generation_submit_ip="2/min")
    codes = [
        Client()
        .post(
            STUDIO,
            data(product, seed=i),
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.{i}, 203.0.113.7",
            REMOTE_ADDR="127.0.0.1",
            **HX,
        )
        .status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    # The address the proxy appended is what counts: another one has its own budget.
    response = Client().post(
        STUDIO, data(product), HTTP_X_FORWARDED_FOR="203.0.113.8", REMOTE_ADDR="127.0.0.1", **HX
    )
    assert response.status_code == 201


def test_without_proxies_forwarded_for_is_ignored(product, throttle_rates):  # noqa: F811
    throttle_rates(num_proxies=0, generation_submit_user="100/min", generation_submit_ip="2/min")
    codes = [
        Client().post(STUDIO, data(product, seed=i), HTTP_X_FORWARDED_FOR=f"198.51.100.{i}", **HX).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_an_account_has_one_budget_in_the_studio_and_the_api(client, product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="2/min", generation_submit_ip="100/min")
    user = make_user()
    client.force_login(user)
    assert client.post(STUDIO, data(product, seed=1), **HX).status_code == 201
    api = token_client(user)
    body = {"product": product.slug, "base_color": "Black", "description": "a fox", "steps": 20}
    assert api.post(API, body, format="json").status_code == 202
    assert client.post(STUDIO, data(product, seed=3), **HX).status_code == 429
    assert api.post(API, body, format="json").status_code == 429
    # Another account at the same address is not affected.
    other = Client()
    other.force_login(make_user())
    assert other.post(STUDIO, data(product, seed=4), **HX).status_code == 201


def test_vary_is_throttled_too(me, product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="1/min", generation_submit_ip="100/min")
    assert me.post(STUDIO, data(product), **HX).status_code == 201
    source = GenerationRequest.objects.get()
    response = me.post(reverse("personalization:job_vary", args=[source.pk]), **HX)
    assert response.status_code == 429
    assert 0 < waited(response) <= 60
    assert GenerationRequest.objects.count() == 1


def test_a_refused_studio_submit_gives_back_the_visitors_unit(me, product, throttle_rates):  # noqa: F811
    """All or nothing: the address refuses, so the visitor's limit is not used up by the attempt."""
    throttle_rates(generation_submit_user="3/min", generation_submit_ip="1/min")
    assert me.post(STUDIO, data(product), **HX).status_code == 201
    for i in range(3):
        assert me.post(STUDIO, data(product, seed=i), **HX).status_code == 429
    key = f"rate:generation_submit_user:visitor:{limits.subject_hash('visitor-me')}"
    assert UsageCounter.objects.get(key=key).count == 1


def test_a_refused_api_submit_gives_back_the_accounts_unit(product, throttle_rates):  # noqa: F811
    throttle_rates(generation_submit_user="3/min", generation_submit_ip="1/min")
    user = make_user()
    api = token_client(user)
    body = {"product": product.slug, "base_color": "Black", "description": "a fox", "steps": 20}
    assert api.post(API, body, format="json").status_code == 202
    for _ in range(3):
        response = api.post(API, body, format="json")
        assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    assert UsageCounter.objects.get(key=f"rate:generation_submit_user:user:{user.pk}").count == 1


def test_the_anonymous_quota_per_address_holds_in_the_studio(product, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1, "DAILY_QUOTA_PER_IP": 2}
    codes = [visitor(Client(), f"fresh-{i}").post(STUDIO, data(product, seed=i), **HX) for i in range(3)]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert "Daily limit of 2 designs reached" in codes[2].content.decode()
    assert int(codes[2]["Retry-After"]) > 0
