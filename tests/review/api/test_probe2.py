import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import png
from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def test_missing_logo_result_page(me):
    brand = brand_with_fonts()
    brand.logo.save("logo.png", ContentFile(png((50, 20))), save=True)
    image = finished_design(mug(brand))
    brand.logo.storage.delete(brand.logo.name)
    r = me.get(reverse("personalization:job", args=[image.request_id]))
    print("result page", r.status_code)


def test_api_types(api, user):
    image = finished_design(mug(brand_with_fonts()), key="", customer=user)
    url = f"/api/v1/generations/{image.request_id}/images/0/preview/"
    for body in (
        {"text_layer": "abc"},
        {"text_layer": [1]},
        {"text_layer": 5},
        {"text_layer": {"text": 5}},
        {"text_layer": {"text": "A\u0301b"}},
        {"text_layer": {"text": "\U0001f600"}},
        {"text_layer": {"text": "ab", "kind": "monogram"}},
        {"text_layer": {"text": "ǅa", "kind": "monogram"}},
        {"text_layer": {"text": "ßa", "kind": "monogram"}},
        {"text_layer": {"text": "ﬃ", "kind": "line"}},
        {"text_layer": {"text": "x" * 200}},
        {"text_layer": {"text": "Ada", "color": "#zzz"}},
        {"text_layer": {"text": "Ada", "font": None}},
        {"text_layer": {"text": "ıi", "kind": "monogram"}},
    ):
        r = api.post(url, body, format="json")
        print(body, r.status_code, str(r.json())[:200])
    body = {
        "lines": [
            {
                "product": image.request.product.slug,
                "base_color": "White",
                "generation": str(image.request_id),
                "text_layer": "abc",
            }
        ],
        "full_name": "A",
        "email": "a@example.com",
        "address_line1": "x",
        "city": "y",
        "postcode": "z",
        "country": "GB",
    }
    for tl in ("abc", 5, [1], {"text": 5}, {"text": "Ada", "color": 7}):
        body["lines"][0]["text_layer"] = tl
        r = api.post("/api/v1/orders/", body, format="json")
        print("order", tl, r.status_code, str(r.json())[:300])
