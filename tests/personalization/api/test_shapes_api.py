"""The API's side of designs shaped like the print area: `size` is a pixel budget, the images say
their `width` and `height`; `reference_fit` and `transparent_background` on submit, with field errors."""

import io

import pytest

from personalization.models import GenerationRequest
from tests.factories import make_product
from tests.personalization.api.conftest import make_generation, png_bytes

URL = "/api/v1/generations/"
FIT_MESSAGE = "Choose how to fit the reference picture: cover or contain."


@pytest.fixture
def mug(catalogue):
    return make_product(
        brand=catalogue["brand"],
        name="Harbour mug",
        slug="harbour-mug",
        product_type="mug",
        print_width_mm=200,
        print_height_mm=85,
    )


def body(**overrides):
    return {"product": "harbour-mug", "base_color": "White", "description": "a gull", "seed": 9, **overrides}


def test_the_size_is_a_budget_that_takes_the_print_areas_shape(api, mug):
    response = api.post(URL, body(size=768, transparent_background=True), format="json")
    assert response.status_code == 202, response.data
    data = response.json()
    assert (data["size"], data["width"], data["height"]) == (768, 1152, 512)
    assert (data["reference_fit"], data["transparent_background"]) == ("cover", True)
    assert "plain white background" in data["optimized_prompt"]
    generation = GenerationRequest.objects.get()
    assert (generation.width, generation.height, generation.transparent_background) == (1152, 512, True)


def test_defaults_cover_and_a_background(api, mug):
    response = api.post(URL, body(size=512), format="json")
    assert response.status_code == 202, response.data
    data = response.json()
    assert (data["size"], data["width"], data["height"]) == (512, 768, 320)
    assert (data["reference_fit"], data["transparent_background"]) == ("cover", False)


def test_a_contained_reference_is_stored_with_its_fit(api, mug):
    upload = io.BytesIO(png_bytes((64, 48)))
    upload.name = "reference.png"
    response = api.post(
        URL, {**body(), "reference_image": upload, "reference_fit": "contain"}, format="multipart"
    )
    assert response.status_code == 202, response.data
    assert response.json()["reference_fit"] == "contain"
    generation = GenerationRequest.objects.get()
    assert generation.reference_fit == "contain" and generation.recipe.reference_fit == "contain"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"reference_fit": "stretch"}, "reference_fit", FIT_MESSAGE),
        ({"reference_fit": 3}, "reference_fit", FIT_MESSAGE),
        ({"transparent_background": "maybe"}, "transparent_background", "Must be a valid boolean."),
        ({"size": 1152}, "size", "Size must be between 512 and 768."),
    ],
)
def test_bad_values_answer_400_under_their_field(api, mug, values, field, message):
    response = api.post(URL, body(**values), format="json")
    assert response.status_code == 400, response.data
    assert response.json()[field] == [message]
    assert not GenerationRequest.objects.exists()


def test_the_images_say_their_width_and_height(api, user, catalogue):
    generation = make_generation(customer=user, product=catalogue["product"], width=448, height=576)
    generation.images.update(width=448, height=576)
    data = api.get(f"{URL}{generation.pk}/").json()
    assert (data["size"], data["width"], data["height"]) == (512, 448, 576)
    assert [(image["width"], image["height"]) for image in data["images"]] == [(448, 576)]


def test_the_schema_documents_the_new_fields(anon, db):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    create = components["GenerationCreateRequest"]["properties"]
    fit = create["reference_fit"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[fit]["enum"] == ["cover", "contain"] and create["reference_fit"]["default"] == "cover"
    assert create["transparent_background"]["type"] == "boolean"
    assert "pixel budget" in create["size"]["description"].lower()
    assert {"width", "height"} <= set(components["GenerationImage"]["properties"])
    assert {"width", "height", "reference_fit", "transparent_background"} <= set(
        components["Generation"]["properties"]
    )
    errors = components["GenerationCreateError"]["properties"]
    assert {"reference_fit", "transparent_background"} <= set(errors)
