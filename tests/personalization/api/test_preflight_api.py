"""Each image of the generation API carries the preflight the storefront shows."""

import io

from django.core.files.base import ContentFile
from PIL import Image

from personalization import interface
from personalization.artwork import compose
from personalization.models import GenerationImage
from personalization.preflight import image_preflight
from tests.personalization.api.conftest import make_generation

URL = "/api/v1/generations/"
KEYS = {
    "ok",
    "blocked",
    "print_size",
    "design_px",
    "print_px",
    "effective_dpi",
    "target_dpi",
    "min_dpi",
    "meets_minimum",
    "below_minimum",
    "safe_area",
    "crop",
    "messages",
}


def test_each_image_has_its_preflight(api, user, generation_factory):
    generation = generation_factory(user, variations=2)
    response = api.get(f"{URL}{generation.pk}/")
    assert response.status_code == 200
    images = response.json()["images"]
    assert len(images) == 2
    for image in images:
        preflight = image["preflight"]
        assert set(preflight) == KEYS
        # A 512 px square on the 250 x 300 mm tee plus 3 mm bleed: 512 px over 306 mm (12.047 in)
        # = 42.5 dpi down (42.49, rounded down); cover keeps that axis and crops 1 - 256/306 = 16.3 %
        # of the width.
        assert preflight["effective_dpi"] == 42.4
        assert (preflight["target_dpi"], preflight["min_dpi"]) == (300, 150)
        assert preflight["meets_minimum"] is False
        assert preflight["print_size"]["width_mm"] == 250 and preflight["print_size"]["bleed_mm"] == 3.0
        assert preflight["crop"] == {"share": 0.163, "axis": "width"}
        assert preflight["below_minimum"]["action"] == "upscale"
        assert preflight["blocked"] is False and preflight["ok"] is True


def test_a_blocking_brands_image_says_blocked(api, user, catalogue):
    catalogue["brand"].low_resolution = "block"
    catalogue["brand"].save()
    generation = make_generation(customer=user, product=catalogue["product"])
    preflight = api.get(f"{URL}{generation.pk}/").json()["images"][0]["preflight"]
    assert preflight["blocked"] is True and preflight["ok"] is False
    assert preflight["below_minimum"]["action"] == "block"
    assert preflight["messages"][0].startswith("This design has too few pixels for a 250 × 300 mm print")
    image = generation.images.get()
    assert interface.preflight_refusal_for(image) == preflight["below_minimum"]["message"]


def test_refusal_is_free_when_the_brand_upscales(user, catalogue, django_assert_num_queries):
    generation = make_generation(customer=user, product=catalogue["product"])
    image = GenerationImage.objects.select_related("request__brand").get(request=generation)
    with django_assert_num_queries(0):
        assert interface.preflight_refusal_for(image, {}) == ""


def test_the_preflight_is_cached_until_the_brand_changes(user, catalogue, monkeypatch):
    composed = []

    def counting_compose(*args, **kwargs):
        composed.append(1)
        return compose(*args, **kwargs)

    monkeypatch.setattr("personalization.artwork.compose", counting_compose)
    generation = make_generation(customer=user, product=catalogue["product"])
    image = GenerationImage.objects.select_related("request__brand").get(request=generation)
    first = image_preflight(image)
    assert image_preflight(image) == first and image_preflight(image, text=None) == first
    assert len(composed) == 1
    brand = catalogue["brand"]
    brand.low_resolution = "block"
    brand.save()
    image.request.brand = brand
    assert image_preflight(image)["blocked"] is True
    assert len(composed) == 2


def test_a_cut_out_design_reaching_the_edge_is_a_safe_area_problem(api, user, catalogue):
    generation = make_generation(customer=user, product=catalogue["product"], transparent_background=True)
    stored = generation.images.get()
    design = Image.new("RGB", (512, 512), "white")
    design.paste((20, 40, 160), (0, 180, 512, 330))  # a band across the whole width, on white
    buffer = io.BytesIO()
    design.save(buffer, format="PNG")
    stored.image.save("design.png", ContentFile(buffer.getvalue()))
    preflight = api.get(f"{URL}{generation.pk}/").json()["images"][0]["preflight"]
    assert preflight["safe_area"]["problems"] == [
        {"layer": "design", "message": "Part of the design reaches the edge and may be trimmed."}
    ]
    assert preflight["ok"] is False and preflight["blocked"] is False
