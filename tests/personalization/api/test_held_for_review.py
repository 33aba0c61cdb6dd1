"""Held for review in the REST API: ``review_state`` on every generation, ``review_reason`` only
after a review rejected it, no images or preview until approved, and no order lines for a held or
review-rejected design."""

import pytest
from django.core.files.base import ContentFile

from personalization.models import LineDesign
from personalization.review import (
    generation_hold_for_review,
    generation_review_approve,
    generation_review_reject,
)
from shop.models import Order
from tests.personalization.api.conftest import png_bytes

URL = "/api/v1/generations/"
ORDERS = "/api/v1/orders/"
SHIPPING = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address_line1": "12 Harbour Street",
    "city": "Bristol",
    "postcode": "BS1 4RN",
    "country": "gb",
}


@pytest.fixture
def generation(user, generation_factory):
    g = generation_factory(user, variations=2)
    g.preview.save("preview.png", ContentFile(png_bytes((16, 16))), save=True)
    return g


def hold(g):
    assert generation_hold_for_review(request_id=g.pk, reason="The description names “Totoro”.")
    g.refresh_from_db()
    return g


def detail(api, g) -> dict:
    response = api.get(f"{URL}{g.pk}/")
    assert response.status_code == 200
    return response.json()


def test_a_design_that_was_never_held(api, generation):
    body = detail(api, generation)
    assert body["review_state"] == "" and body["review_reason"] is None
    assert len(body["images"]) == 2 and body["preview_url"]


def test_a_held_design_has_no_images_and_no_preview(api, generation):
    hold(generation)
    body = detail(api, generation)
    assert body["status"] == "succeeded"
    assert body["review_state"] == "pending_review"
    assert body["review_reason"] is None  # staff's note is not the customer's
    assert body["images"] == [] and body["preview_url"] is None
    listed = api.get(URL).json()["results"][0]
    assert listed["review_state"] == "pending_review" and listed["images"] == []
    assert listed["preview_url"] is None
    assert "Totoro" not in str(listed)


def test_an_approved_design_shows_its_images(api, generation):
    generation_review_approve(generation=hold(generation))
    body = detail(api, generation)
    assert body["review_state"] == "approved" and body["review_reason"] is None
    assert len(body["images"]) == 2 and body["preview_url"]


def test_a_review_rejected_design_says_why_and_shows_nothing(api, generation):
    generation_review_reject(generation=hold(generation), reason="A character we may not print.")
    body = detail(api, generation)
    assert body["status"] == "rejected"
    assert body["review_state"] == "rejected"
    assert body["review_reason"] == "A character we may not print."
    assert body["error"] == {"code": "review_rejected", "message": "A character we may not print."}
    assert body["images"] == [] and body["preview_url"] is None


def order_line(g, index=0):
    return {
        "product": "harbour-tee",
        "base_color": "White",
        "quantity": 1,
        "generation": str(g.pk),
        "image_index": index,
    }


def test_a_held_design_cannot_be_ordered(api, generation):
    hold(generation)
    response = api.post(ORDERS, {"lines": [order_line(generation)], **SHIPPING}, format="json")
    assert response.status_code == 400
    message = response.json()["lines"]["0"]["generation"][0]
    assert "once it is approved" in message
    assert not Order.objects.exists() and not LineDesign.objects.exists()


def test_a_review_rejected_design_cannot_be_ordered(api, generation):
    generation_review_reject(generation=hold(generation), reason="no")
    response = api.post(ORDERS, {"lines": [order_line(generation)], **SHIPPING}, format="json")
    assert response.status_code == 400
    assert "did not approve this design" in response.json()["lines"]["0"]["generation"][0]
    assert not Order.objects.exists()


def test_an_approved_design_can_be_ordered(api, generation):
    generation_review_approve(generation=hold(generation))
    response = api.post(ORDERS, {"lines": [order_line(generation, 1)], **SHIPPING}, format="json")
    assert response.status_code == 201, response.json()
    assert LineDesign.objects.get().source_image.index == 1
