"""Per-brand presets on the storefront: a material or style preset with a brand is offered and
accepted for that brand's products only (studio, REST API, the service); shared ones for all."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_brand, make_material, make_product, make_style, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def presets():
    acorn, zephyr = make_brand(name="Acorn", slug="acorn"), make_brand(name="Zephyr", slug="zephyr")
    shared_material = make_material(name="Shared cotton", slug="shared-cotton")
    acorn_material = make_material(name="Acorn silk", slug="acorn-silk", brand=acorn)
    zephyr_material = make_material(name="Zephyr silk", slug="zephyr-silk", brand=zephyr)
    shared_style = make_style(name="Shared ink", slug="shared-ink")
    acorn_style = make_style(name="Acorn pop", slug="acorn-pop", brand=acorn)
    zephyr_style = make_style(name="Zephyr pop", slug="zephyr-pop", brand=zephyr)
    # A product with no allowed materials may use every material offered for its brand.
    product = make_product(brand=acorn, name="Acorn tee", slug="acorn-tee")
    # One whose list was filled before the preset got a brand still refuses the other brand's.
    listed = make_product(
        brand=acorn, name="Acorn mug", slug="acorn-mug", materials=[shared_material, zephyr_material]
    )
    return {
        "product": product,
        "listed": listed,
        "shared_material": shared_material,
        "acorn_material": acorn_material,
        "zephyr_material": zephyr_material,
        "shared_style": shared_style,
        "acorn_style": acorn_style,
        "zephyr_style": zephyr_style,
    }


def create(product, **kwargs):
    return generation_request_create(
        product=product,
        base_color="White",
        description="a fox in the snow",
        session_key="visitor-x",
        **kwargs,
    )


def test_service_accepts_shared_and_own_brand_presets(presets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        for material, style in (
            (presets["shared_material"], presets["shared_style"]),
            (presets["acorn_material"], presets["acorn_style"]),
        ):
            generation = create(presets["product"], material=material, style=style)
            assert (generation.material, generation.style) == (material, style)


@pytest.mark.parametrize(
    ("field", "preset", "message"),
    [
        ("material", "zephyr_material", "Acorn tee is not made in Zephyr silk."),
        ("style", "zephyr_style", "The Zephyr pop style is not offered for Acorn tee."),
    ],
)
def test_service_refuses_another_brands_preset_with_a_field_error(presets, field, preset, message):
    with pytest.raises(ValidationError) as caught:
        create(presets["product"], **{field: presets[preset]})
    assert caught.value.message_dict[field] == [message]
    assert not GenerationRequest.objects.exists()


def test_service_refuses_another_brands_material_even_in_the_products_list(presets):
    with pytest.raises(ValidationError) as caught:
        create(presets["listed"], material=presets["zephyr_material"])
    assert "material" in caught.value.message_dict


def test_studio_offers_shared_and_the_products_brand_presets_only(client, presets):
    html = client.get(reverse("personalization:studio"), {"product": "acorn-tee"}).content.decode()
    for slug in ("shared-cotton", "acorn-silk", "shared-ink", "acorn-pop"):
        assert f'value="{slug}"' in html, slug
    assert "zephyr" not in html.lower()
    fragment = client.get(reverse("personalization:product_fields"), {"product": "acorn-mug"}, **HX)
    fragment = fragment.content.decode()
    assert 'value="shared-cotton"' in fragment and 'value="acorn-pop"' in fragment
    assert "zephyr" not in fragment.lower()
    # Without a product: shared presets only.
    html = client.get(reverse("personalization:studio")).content.decode()
    assert 'value="shared-ink"' in html and 'value="acorn-pop"' not in html


@pytest.mark.parametrize("field", ["material", "style"])
def test_studio_refuses_another_brands_preset(client, presets, field):
    data = {
        "product": "acorn-tee",
        "base_color": "White",
        "description": "a fox in the snow",
        "style": "",
        "material": "",
        "steps": "20",
        "guidance_scale": "7.5",
        "variations": "1",
        field: f"zephyr-{'silk' if field == 'material' else 'pop'}",
    }
    response = client.post(reverse("personalization:studio"), data, **HX)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize(("field", "slug"), [("material", "zephyr-silk"), ("style", "zephyr-pop")])
def test_api_refuses_another_brands_preset_with_400(presets, field, slug):
    api = APIClient()
    api.force_authenticate(make_user())
    body = {"product": "acorn-tee", "base_color": "White", "description": "a fox in the snow", field: slug}
    response = api.post("/api/v1/generations/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not GenerationRequest.objects.exists()


def test_catalogue_api_lists_shared_presets_and_a_brands_own_on_request(presets):
    api = APIClient()
    for url, shared, own in (
        ("/api/v1/materials/", "shared-cotton", "acorn-silk"),
        ("/api/v1/styles/", "shared-ink", "acorn-pop"),
    ):
        slugs = {row["slug"] for row in api.get(url).json()["results"]}
        assert slugs == {shared}
        slugs = {row["slug"] for row in api.get(url, {"brand": "acorn"}).json()["results"]}
        assert slugs == {shared, own}
        slugs = {row["slug"] for row in api.get(url, {"brand": "no-such-brand"}).json()["results"]}
        assert slugs == {shared}


def test_offered_presets_and_offers_preset_agree_on_every_preset(presets):
    # One rule (personalization.selectors): the studio's choices, the service's check, the demo
    # model's training frames and the report's storefront prompts all read it.
    from brand_guides.models import MaterialPreset, StylePreset
    from personalization.hosts import host
    from personalization.selectors import offered_presets, offers_preset

    tee, mug = (host().product_info(presets[name]) for name in ("product", "listed"))
    expected = [
        (tee, {"shared-cotton", "acorn-silk"}, {"shared-ink", "acorn-pop"}),
        # Its own list narrows the materials and still drops the other brand's; styles are all.
        (mug, {"shared-cotton"}, {"shared-ink", "acorn-pop"}),
    ]
    for info, materials, styles in expected:
        offered = offered_presets(info)
        assert [{p.slug for p in queryset} for queryset in offered] == [materials, styles], info.name
        for preset in [*MaterialPreset.objects.all(), *StylePreset.objects.all()]:
            assert offers_preset(info, preset) == (preset.slug in materials | styles), (info.name, preset)
