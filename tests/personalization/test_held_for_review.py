"""Held for review, as the customer sees it in the storefront: the job card and the gallery show the
state and no picture until staff approve; a held or review-rejected design cannot go into the cart
or onto an order; an approved one behaves as any other."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.review import (
    generation_hold_for_review,
    generation_review_approve,
    generation_review_reject,
)
from personalization.services import generation_request_create
from shop.models import Cart, CartLine, Order
from shop.services import cart_add, cart_get_or_create
from tests.factories import make_product, png

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
Status = GenerationRequest.Status
HX = {"HTTP_HX_REQUEST": "true"}
HELD = "A person at the shop checks this design before you can see it."


@pytest.fixture
def product():
    return make_product(name="Classic tee", slug="classic-tee")


def finished(product, *, key="visitor-me", images=2) -> GenerationRequest:
    g = generation_request_create(
        product=product, base_color="White", description="a fox in the snow", session_key=key
    )
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now(), progress_step=g.steps
    )
    for index in range(images):
        image = GenerationImage(request=g, index=index, seed=g.seed + index, width=64, height=64)
        image.image.save("design.png", ContentFile(png()), save=False)
        image.mockup.save("mockup.png", ContentFile(png(color=(0, 0, 200))), save=False)
        image.save()
    g.refresh_from_db()
    g.preview.save("preview.png", ContentFile(png(size=(16, 16))), save=False)
    GenerationRequest.objects.filter(pk=g.pk).update(preview=g.preview.name)
    return g


def held(product, **kw) -> GenerationRequest:
    g = finished(product, **kw)
    assert generation_hold_for_review(request_id=g.pk, reason="The description names “Totoro”.")
    g.refresh_from_db()
    return g


def card(me, g) -> str:
    response = me.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code in (200, 286)
    return response.content.decode()


def gallery_item(me, g) -> str:
    html = me.get(reverse("personalization:gallery")).content.decode()
    match = re.search(rf'<li[^>]*id="gallery-{g.pk}".*?</li>', html, re.S)
    assert match, html
    return match.group()


# --- the job card --------------------------------------------------------------------------------


def test_visible_design_shows_its_images_and_add_to_cart(me, product):
    g = finished(product)
    html = card(me, g)
    assert html.count('class="result"') == 2
    assert "<img" in html and 'action="/cart/add/"' in html
    assert HELD not in html


def test_held_design_shows_the_state_and_no_picture(me, product):
    g = held(product)
    html = card(me, g)
    assert HELD in html
    assert "In review" in html
    assert 'class="result"' not in html and "<img" not in html
    assert 'action="/cart/add/"' not in html and "rating" not in html
    assert "Totoro" not in html  # the staff reason is not shown


def test_held_running_design_shows_no_live_preview(me, product):
    g = held(product)
    GenerationRequest.objects.filter(pk=g.pk).update(status=Status.RUNNING, progress_step=3)
    html = card(me, g)
    assert HELD in html and "<img" not in html
    assert "Live preview" not in html


def test_held_queued_design_says_it_will_be_checked(me, product):
    g = generation_request_create(
        product=product, base_color="White", description="a fox", session_key="visitor-me"
    )
    generation_hold_for_review(request_id=g.pk, reason="names a character")
    assert HELD in card(me, g)


def test_approved_design_behaves_as_any_other(me, product):
    g = held(product)
    generation_review_approve(generation=g)
    html = card(me, g)
    assert html.count('class="result"') == 2 and 'action="/cart/add/"' in html
    assert HELD not in html and "In review" not in html


def test_review_rejected_design_shows_the_reason_and_no_picture(me, product):
    g = held(product)
    generation_review_reject(generation=g, reason="This shows a character we may not print.")
    html = card(me, g)
    assert "We can't make this design" in html
    assert "This shows a character we may not print." in html
    assert "<img" not in html and 'class="result"' not in html


# --- the gallery ---------------------------------------------------------------------------------


def test_gallery_hides_held_and_review_rejected_pictures(me, product):
    visible, pending, refused = finished(product), held(product), held(product)
    generation_review_reject(generation=refused, reason="no")
    assert "<img" in gallery_item(me, visible)
    item = gallery_item(me, pending)
    assert "<img" not in item and HELD in item and "In review" in item
    assert "<img" not in gallery_item(me, refused)
    generation_review_approve(generation=pending)
    assert "<img" in gallery_item(me, pending)


# --- cart and checkout ---------------------------------------------------------------------------


def add(me, product, image, **extra):
    return me.post(
        reverse("shop:cart_add"),
        {"product": product.slug, "base_color": "White", "design": image.pk},
        follow=True,
        **extra,
    )


def test_a_held_design_cannot_go_into_the_cart(me, product):
    g = held(product)
    response = add(me, product, g.images.first())
    assert "You can add it to your cart once it is approved." in response.content.decode()
    assert not CartLine.objects.exists()
    cart = cart_get_or_create(session_key="visitor-me")
    with pytest.raises(ValidationError) as info:
        cart_add(cart=cart, product=product, base_color="White", design=g.images.first())
    assert "once it is approved" in info.value.message_dict["design"][0]


def test_a_review_rejected_design_cannot_go_into_the_cart(me, product):
    g = held(product)
    generation_review_reject(generation=g, reason="no")
    response = add(me, product, g.images.first())
    assert "did not approve this design" in response.content.decode()
    assert not CartLine.objects.exists()


def test_an_approved_design_goes_into_the_cart(me, product):
    g = held(product)
    generation_review_approve(generation=g)
    add(me, product, g.images.first())
    assert CartLine.objects.get().design == g.images.first()


def test_a_design_held_after_it_went_into_the_cart_cannot_be_ordered(me, product):
    g = finished(product)
    add(me, product, g.images.first())
    assert CartLine.objects.count() == 1
    generation_hold_for_review(request_id=g.pk, reason="text read in the picture")
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "address_line1": "12 St James's Square",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country": "gb",
        "checkout_token": str(uuid.uuid4()),
    }
    response = me.post(reverse("shop:checkout"), data)
    assert response.status_code == 422
    assert "once it is approved" in response.content.decode()
    assert not Order.objects.exists() and not LineDesign.objects.exists()
    assert Cart.objects.get(session_key="visitor-me").lines.count() == 1  # nothing lost


def test_a_held_design_cannot_be_approved_before_it_is_made_and_the_picture_check_can_still_hold_it(
    product,
):
    from personalization.review import ReviewNotPending

    g = generation_request_create(
        product=product, base_color="White", description="a fox in the snow", session_key="k"
    )
    assert generation_hold_for_review(request_id=g.pk, reason="names a character")
    with pytest.raises(ReviewNotPending, match="still being made"):
        generation_review_approve(generation=g)
    g.refresh_from_db()
    assert g.review_state == GenerationRequest.ReviewState.PENDING
    # The worker's picture check adds its reason to the same hold.
    assert generation_hold_for_review(request_id=g.pk, reason="Text in the picture: “Nike”.")
    g.refresh_from_db()
    assert g.review_reason == "names a character\nText in the picture: “Nike”."


def test_a_decided_design_is_not_held_again(product):
    g = held(product)
    generation_review_reject(generation=g, reason="No.")
    assert not generation_hold_for_review(request_id=g.pk, reason="late")
    g.refresh_from_db()
    assert g.review_state == GenerationRequest.ReviewState.REJECTED and g.review_reason == "No."
