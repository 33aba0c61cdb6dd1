"""The text layer over the API: POST generations/<id>/images/<index>/preview/ (mockup + preflight
of a variation with a text or monogram), GET generations/<id>/text-options/, and "text_layer" on
the lines of POST orders/ (frozen, shown on the order); bad text answers 400 under its keys."""

import base64
import io

import pytest
from PIL import Image

from personalization.models import LineDesign
from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture
def image(user):
    return finished_design(mug(brand_with_fonts()), key="", customer=user)


def preview_url(image, index=0) -> str:
    return f"/api/v1/generations/{image.request_id}/images/{index}/preview/"


def order_body(image, **line):
    return {
        "lines": [{"product": image.request.product.slug, "base_color": "White", **line}],
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "address_line1": "12 St James's Square",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country": "GB",
    }


def test_preview_answers_the_normalised_text_the_preflight_and_a_png_mockup(api, image):
    body = {"text_layer": {"text": "  ada  ", "kind": "monogram", "color": "navy", "curve": "arc"}}
    response = api.post(preview_url(image), body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["text_layer"] == {
        "text": "ADA",
        "kind": "monogram",
        "font": "heading",
        "color_hex": "#1f2a44",
        "size": "medium",
        "position": "bottom",
        "curve": "arc",
    }
    assert {"effective_dpi", "min_dpi", "meets_minimum", "blocked", "safe_area", "messages"} <= set(
        data["preflight"]
    )
    prefix = "data:image/png;base64,"
    assert data["mockup"].startswith(prefix)
    mockup = Image.open(io.BytesIO(base64.b64decode(data["mockup"][len(prefix) :])))
    assert mockup.format == "PNG" and min(mockup.size) >= 256


def test_preview_without_a_text_layer_is_the_plain_variation(api, image):
    for body in ({}, {"text_layer": None}, {"text_layer": {"text": "   ", "font": "nope"}}):
        response = api.post(preview_url(image), body, format="json")
        assert response.status_code == 200 and response.json()["text_layer"] is None


@pytest.mark.parametrize(
    ("text_layer", "key", "words"),
    [
        ({"text": "zebra"}, "text", "zebra"),
        ({"text": "x" * 30}, "text", "characters long"),
        ({"text": "Ada\u202eLove"}, "text", "control characters"),
        ({"text": "ABCD", "kind": "monogram"}, "text", "2 or 3 letters"),
        ({"text": "Ada", "font": "script"}, "font", "brand's fonts"),
        ({"text": "Ada", "color": "#00ff00"}, "color", "brand's colours"),
        ({"text": "Ada", "size": "huge"}, "size", "valid choice"),
        ({"text": 42}, "text", "Not a valid string"),
    ],
)
def test_bad_text_answers_400_under_its_key(api, image, text_layer, key, words):
    response = api.post(preview_url(image), {"text_layer": text_layer}, format="json")
    assert response.status_code == 400
    errors = response.json()["text_layer"]
    assert list(errors) == [key] and words in " ".join(errors[key])


def test_preview_is_the_owners_only(api, other_api, anon, image):
    body = {"text_layer": {"text": "Ada"}}
    assert other_api.post(preview_url(image), body, format="json").status_code == 404
    assert api.post(preview_url(image, index=3), body, format="json").status_code == 404
    assert anon.post(preview_url(image), body, format="json").status_code == 401


def test_text_options_of_a_design(api, other_api, image):
    url = f"/api/v1/generations/{image.request_id}/text-options/"
    data = api.get(url).json()
    assert data["available"] is True and data["max_length"] == 24
    assert [(f["key"], f["family"]) for f in data["fonts"]] == [("heading", "Fredoka One"), ("body", "Lato")]
    assert [c["name"] for c in data["colors"]] == ["Navy", "Coral", "Cream"]
    assert data["defaults"]["color"] == "#1f2a44" and data["curves"] == ["straight", "arc"]
    assert other_api.get(url).status_code == 404


def test_an_order_line_with_text_freezes_it_and_shows_it(api, image):
    text_layer = {"text": "Ada & Max", "color": "Coral", "position": "middle"}
    response = api.post(
        "/api/v1/orders/",
        order_body(image, generation=str(image.request_id), text_layer=text_layer),
        format="json",
    )
    assert response.status_code == 201, response.json()
    design = response.json()["lines"][0]["design"]
    assert design["text_layer"]["text"] == "Ada & Max" and design["text_layer"]["color_hex"] == "#ff6f61"
    assert design["text_layer"]["position"] == "middle"
    assert design["preflight"]["min_dpi"] == 150
    frozen = LineDesign.objects.get()
    assert frozen.composition["text"] == design["text_layer"] and frozen.text_font
    again = api.get(f"/api/v1/orders/{response.json()['number']}/").json()
    assert again["lines"][0]["design"]["text_layer"] == design["text_layer"]


def test_an_order_line_without_text_shows_null(api, image):
    response = api.post("/api/v1/orders/", order_body(image, generation=str(image.request_id)), format="json")
    assert response.status_code == 201
    assert response.json()["lines"][0]["design"]["text_layer"] is None


def test_bad_text_on_an_order_line_answers_400_under_the_line(api, image):
    body = order_body(image, generation=str(image.request_id), text_layer={"text": "zebra", "color": "Lime"})
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["lines"]["0"]["text_layer"]
    assert set(errors) == {"text", "color"} and "zebra" in errors["text"][0]
    assert not LineDesign.objects.exists()


def test_text_on_a_plain_line_is_refused(api, image):
    response = api.post("/api/v1/orders/", order_body(image, text_layer={"text": "Ada"}), format="json")
    assert response.status_code == 400
    assert "personalized design" in response.json()["lines"]["0"]["text_layer"]["text"][0]
