"""Print fidelity under odd states and inputs: nothing answers a 500, private
files that must stay private, and text that must print as the customer approved it."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from personalization.artwork import ArtworkSpec, TextLayer, compose
from personalization.models import GenerationRequest, LineDesign
from personalization.preflight import image_preflight, preflight
from personalization.selectors import request_product_info
from personalization.specs import PrintAreaSpec
from personalization.text_layers import text_layer_from
from tests.factories import make_user, png
from tests.private_media import GRANTED, private_path
from tests.shop_helpers import checkout_data
from tests.text_layer_helpers import LATO, brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def preview(client, image, **fields):
    data = {f"text_{key}" if key != "text" else key: value for key, value in fields.items()}
    return client.post(
        reverse("personalization:image_preview", args=[image.pk]), data, HTTP_HX_REQUEST="true"
    )


# --- a brand logo missing from the storage -------------------------------------------------------


@pytest.fixture
def logo_lost():
    """A design of a brand whose logo file has gone from the storage (a restore, a cleanup)."""
    brand = brand_with_fonts()
    brand.logo.save("logo.png", ContentFile(png((120, 60))), save=True)
    image = finished_design(mug(brand))
    brand.logo.storage.delete(brand.logo.name)
    return image


def test_result_page_preview_and_preflight_survive_a_brand_logo_missing_from_storage(me, logo_lost):
    page = me.get(reverse("personalization:job", args=[logo_lost.request_id]))
    assert page.status_code == 200
    assert 'data-preflight="' in page.content.decode()
    response = preview(me, logo_lost, text="Ada")
    assert response.status_code == 200
    assert "logo" not in image_preflight(logo_lost)["safe_area"]["problems"]


def test_checkout_of_a_design_whose_brand_logo_is_missing_freezes_it_without_a_logo(me, logo_lost):
    product = logo_lost.request.product
    me.post(
        reverse("shop:cart_add"),
        {"product": product.slug, "base_color": "White", "design": logo_lost.pk, "text": "Ada"},
    )
    response = me.post(
        reverse("shop:checkout"),
        checkout_data(),
    )
    assert response.status_code == 302
    design = LineDesign.objects.get()
    assert not design.logo and design.composition["logo"] is None
    assert design.composition["text"]["text"] == "Ada"


# --- a design file missing from the storage -------------------------------------------------------


def test_live_preview_of_a_design_missing_from_storage_says_so_instead_of_a_500(me):
    image = finished_design(mug(brand_with_fonts()))
    image.image.storage.delete(image.image.name)
    response = preview(me, image, text="Ada")
    assert response.status_code == 422
    assert "no longer available" in response.content.decode()


def test_preflight_of_a_cut_out_design_missing_from_storage_is_not_a_500(me):
    image = finished_design(mug(brand_with_fonts()))
    GenerationRequest.objects.filter(pk=image.request_id).update(transparent_background=True)
    image.refresh_from_db()
    image.image.storage.delete(image.image.name)
    assert image_preflight(image)["print_size"]["width_mm"] == 200
    assert me.get(reverse("personalization:job", args=[image.request_id])).status_code == 200


# --- a monogram whose letters change in number when upper-cased ----------------------------------


def test_a_monogram_that_upper_cases_to_four_letters_is_refused_up_front():
    brand = brand_with_fonts()
    info = request_product_info(finished_design(mug(brand)).request)
    with pytest.raises(ValidationError) as caught:
        text_layer_from({"text": "ßab", "kind": "monogram"}, brand=brand, info=info)
    assert "2 or 3 letters" in caught.value.message_dict["text"][0]
    # What is accepted passes again unchanged when the order freezes it.
    layer = text_layer_from({"text": "ßa", "kind": "monogram"}, brand=brand, info=info)
    values = {**layer.as_dict(), "color": layer.color_hex}
    assert text_layer_from(values, brand=brand, info=info) == layer


# --- the frozen font of an order line --------------------------------------------------------------


def test_the_frozen_font_of_an_order_line_is_not_served_to_the_customer(me):
    brand = brand_with_fonts()
    image = finished_design(mug(brand))
    me.post(
        reverse("shop:cart_add"),
        {"product": image.request.product.slug, "base_color": "White", "design": image.pk, "text": "Ada"},
    )
    me.post(
        reverse("shop:checkout"),
        checkout_data(),
    )
    design = LineDesign.objects.get()
    assert design.text_font
    # The customer reads their own design and mockup, never the shop's licensed font.
    assert me.get(private_path(design.mockup)).status_code == GRANTED
    assert me.get(private_path(design.text_font)).status_code == 404
    owner = make_user("font-owner-12", is_staff=True)
    brand.owners.add(owner)
    staff = Client()
    staff.force_login(owner)
    assert staff.get(private_path(design.text_font)).status_code == GRANTED


# --- a text that cannot fit the product at all ------------------------------------------------------


def test_preflight_says_when_the_text_does_not_fit_at_all():
    spec = ArtworkSpec(
        print_area=PrintAreaSpec(width_mm=6, height_mm=6, dpi=300, safe_margin_mm=2.9),
        text=TextLayer(text="Happy birthday to the best grandmother"),
        font=LATO.read_bytes(),
    )
    artwork = compose(Image.new("RGB", (64, 64)), spec, px_per_mm=2)
    assert "text" not in artwork.boxes  # nothing could be drawn
    result = preflight(
        design_size=(64, 64),
        spec=spec,
        low_resolution="upscale",
        bleed_mm=0,
        upscaler_label="Lanczos",
        artwork=artwork,
    )
    assert result["ok"] is False
    assert [p["layer"] for p in result["safe_area"]["problems"]] == ["text"]
    assert "does not fit" in result["messages"][-1]


def test_api_preview_of_a_design_missing_from_storage_answers_400_on_the_design():
    from rest_framework.test import APIClient

    user = make_user("preview-api-12")
    image = finished_design(mug(brand_with_fonts()), key="", customer=user)
    image.image.storage.delete(image.image.name)
    api = APIClient()
    api.force_authenticate(user)
    url = f"/api/v1/generations/{image.request_id}/images/0/preview/"
    response = api.post(url, {"text_layer": {"text": "Ada"}}, format="json")
    assert response.status_code == 400
    assert "no longer available" in response.json()["design"][0]


# --- a visitor's cart merged into the account at login ----------------------------------------------


def _visitor_cart_line(image, text_layer):
    from shop.services import cart_add, cart_get_or_create

    cart = cart_get_or_create(session_key="visitor-me")
    cart_add(
        cart=cart, product=image.request.product, base_color="White", design=image, text_layer=text_layer
    )


def test_login_survives_a_cart_text_whose_font_the_blocking_brand_removed_since(me):
    from brand_guides.models import Brand
    from shop.models import CartLine

    brand = brand_with_fonts()
    image = finished_design(mug(brand, min_dpi=100))  # 142 dpi: printable when the brand blocks
    _visitor_cart_line(image, TextLayer(text="Ada", font="body", color_hex="#1f2a44").as_dict())
    brand.typography.filter(role="body").delete()
    Brand.objects.filter(pk=brand.pk).update(low_resolution="block")
    user = make_user("merge-12")
    me.force_login(user)  # merges the visitor's cart: the text is refused later, at checkout
    assert me.get(reverse("shop:cart")).status_code == 200
    assert CartLine.objects.filter(cart__user=user).count() == 1


def test_login_survives_a_cart_design_the_brand_now_blocks(me):
    from brand_guides.models import Brand
    from shop.models import CartLine

    brand = brand_with_fonts()
    image = finished_design(mug(brand), size=(512, 256))  # ~64 dpi
    _visitor_cart_line(image, {})
    Brand.objects.filter(pk=brand.pk).update(low_resolution="block")
    user = make_user("merge-12b")
    me.force_login(user)
    assert me.get(reverse("shop:cart")).status_code == 200
    # Still in the cart, where the checkout says why it cannot be ordered.
    assert CartLine.objects.filter(cart__user=user).count() == 1
