"""Fixtures of the REST API tests (also used by tests/shop/api and tests/brand_guides/api)."""

import io

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from personalization.models import GenerationImage, GenerationRequest
from tests.factories import make_brand, make_material, make_product, make_style, make_user
from tests.personalization.limits_clock import start_at_window_edge


@pytest.fixture(autouse=True)
def _api_settings(settings):
    """DEBUG is off in tests: plain http. Throttle history lives in the default cache: start empty."""
    settings.SECURE_SSL_REDIRECT = False
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def throttle_rates(settings, monkeypatch):
    """Set some throttle rates for one test (a copy of REST_FRAMEWORK, so nothing leaks). The limits'
    clock starts at the edge of every window, so the test's requests never straddle two."""
    start_at_window_edge(monkeypatch)

    def apply(num_proxies=None, **rates):
        rest = dict(settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
        if num_proxies is not None:
            rest["NUM_PROXIES"] = num_proxies
        settings.REST_FRAMEWORK = rest

    return apply


def png_bytes(size=(32, 32), color=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def other_user(db):
    return make_user()


@pytest.fixture
def api(user) -> APIClient:
    return token_client(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return token_client(other_user)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def catalogue(db):
    """A brand with a palette, a product in two colours made in one material, and a style."""
    material = make_material(name="Organic cotton", slug="organic-cotton")
    brand = make_brand(
        name="Harbour",
        slug="harbour",
        style_keywords="nautical, clean lines",
        banned_terms="zebra",
        lora_scale=0.7,
    )
    product = make_product(brand=brand, name="Harbour tee", slug="harbour-tee", materials=[material])
    style = make_style(name="Watercolour", slug="watercolour")
    return {"brand": brand, "product": product, "material": material, "style": style}


def make_generation(*, customer, product, status="succeeded", variations=1, **fields) -> GenerationRequest:
    generation = GenerationRequest.objects.create(
        customer=customer,
        product=product,
        brand=product.brand,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        description="a lighthouse at dawn",
        seed=42,
        steps=20,
        guidance_scale=7.5,
        variations=variations,
        optimized_prompt="a lighthouse at dawn, printed",
        negative_prompt="blurry",
        model_name="tiny-sd21",
        scheduler_name="DPMSolverMultistepScheduler",
        status=status,
        progress_total=20,
        **fields,
    )
    if status == "succeeded":
        for index in range(variations):
            image = GenerationImage(
                request=generation,
                index=index,
                seed=42 + index,
                width=512,
                height=512,
                brand_consistency=81.5,
            )
            image.image.save("design.png", ContentFile(png_bytes()), save=False)
            image.mockup.save("mockup.png", ContentFile(png_bytes()), save=False)
            image.save()
    return generation


@pytest.fixture
def generation_factory(catalogue):
    def factory(customer, **fields):
        return make_generation(customer=customer, product=catalogue["product"], **fields)

    return factory
