"""The customer's text or monogram goes into the cart with the design, is checked again and frozen
at checkout (composition, logo, font, preflight, a mockup with the text), and is refused when it
no longer passes; a design the brand will not print at its resolution is refused too."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, ImageChops

from brand_guides.models import Brand
from personalization.artwork import TextLayer
from personalization.models import LineDesign
from personalization.postprocess import render_mockup
from shop.models import Cart, CartLine, Order
from shop.services import cart_add, cart_get_or_create, cart_merge_into_user
from tests.factories import make_user, png
from tests.shop_helpers import checkout_data
from tests.text_layer_helpers import FREDOKA_ONE, brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

TEXT = {"text": "Ada & Max", "text_kind": "line", "text_font": "heading", "text_color": "Coral"}


@pytest.fixture
def image():
    brand = brand_with_fonts()
    brand.logo.save("logo.png", ContentFile(png((120, 60), color=(10, 120, 60))), save=True)
    return finished_design(mug(brand))


def add(client, image, **fields):
    product = image.request.product
    data = {"product": product.slug, "base_color": "White", "design": image.pk, **fields}
    return client.post(reverse("shop:cart_add"), data)


def checkout(client):
    return client.post(reverse("shop:checkout"), checkout_data())


def opened(field) -> Image.Image:
    with field.open("rb") as fh:
        return Image.open(io.BytesIO(fh.read())).convert("RGB")


def test_cart_add_keeps_the_validated_text_and_the_cart_shows_it(me, image):
    response = add(me, image, **TEXT)
    assert response.status_code == 302 and response["Location"] == "/cart/"
    line = CartLine.objects.get()
    assert line.text_layer == {
        "text": "Ada & Max",
        "kind": "line",
        "font": "heading",
        "color_hex": "#ff6f61",
        "size": "medium",
        "position": "top",  # the default keeps clear of the brand's logo, which sits bottom-right
        "curve": "straight",
    }
    html = me.get(reverse("shop:cart")).content.decode()
    assert "Text “Ada &amp; Max” in Fredoka One, Coral" in html


def test_a_monogram_in_the_cart(me, image):
    add(me, image, text="abc", text_kind="monogram", text_font="body", text_color="Navy")
    assert CartLine.objects.get().text_layer["text"] == "ABC"
    assert "Monogram “ABC” in Lato, Navy" in me.get(reverse("shop:cart")).content.decode()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"text": "zebra crossing"}, "zebra"),
        ({"text": "Ada", "text_color": "Lime"}, "Navy, Coral, Cream"),
        ({"text": "ABCD", "text_kind": "monogram"}, "2 or 3 letters"),
        ({"text": "x" * 201}, "That item could not be added"),  # past the form's bound
    ],
)
def test_bad_text_is_not_added_and_says_why(me, image, fields, words):
    response = add(me, image, **fields)
    assert not CartLine.objects.exists()
    target = response["Location"]
    assert target in ("/cart/", reverse("personalization:job", args=[image.request_id]))
    assert words in me.get(target).content.decode().replace("&#x27;", "'")


def test_text_without_a_design_is_refused_by_the_service(image):
    cart = cart_get_or_create(session_key="visitor-me")
    with pytest.raises(ValidationError) as caught:
        cart_add(cart=cart, product=image.request.product, base_color="White", text_layer={"text": "Ada"})
    assert "personalized design" in caught.value.message_dict["text"][0]


def test_checkout_freezes_composition_logo_font_preflight_and_a_mockup_with_the_text(me, image):
    add(me, image, **TEXT)
    response = checkout(me)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    design = LineDesign.objects.get()
    layer = TextLayer.from_dict(design.composition["text"])
    assert layer == TextLayer(text="Ada & Max", font="heading", color_hex="#ff6f61", position="top")
    assert design.composition["print_area"]["width_mm"] == 200 and design.composition["fit"] == "cover"
    assert design.composition["logo"]["anchor"] == image.request.brand.logo_anchor
    assert opened(design.logo).size == (120, 60)
    with design.text_font.open("rb") as fh:
        assert fh.read() == FREDOKA_ONE.read_bytes()
    assert design.text_font.name.endswith(".ttf")
    assert {"effective_dpi", "min_dpi", "blocked", "messages"} <= set(design.preflight)
    # The frozen mockup is the design with the text, not the stored untexted one.
    with image.image.open("rb") as fh:
        source = Image.open(io.BytesIO(fh.read())).convert("RGB")
    frozen = opened(design.mockup)
    untexted = render_mockup(source, image.request).convert("RGB")
    texted = render_mockup(source, image.request, text=layer).convert("RGB")
    assert ImageChops.difference(frozen, untexted).getbbox() is not None
    assert ImageChops.difference(frozen, texted).getbbox() is None
    html = me.get(response["Location"]).content.decode()
    assert "Text “Ada &amp; Max” in Fredoka One, Coral" in html and design.mockup.name in html


def test_the_frozen_text_survives_later_brand_edits(me, image):
    add(me, image, **TEXT)
    checkout(me)
    brand = image.request.brand
    brand.palette.filter(name="Coral").update(name="Salmon", hex="#FA8072")
    brand.typography.all().delete()
    design = LineDesign.objects.get()
    assert design.composition["text"]["color_hex"] == "#ff6f61"
    html = me.get(reverse("shop:order", args=[design.order_line.order.number])).content.decode()
    assert "“Ada &amp; Max”" in html and "Coral" in html  # the frozen palette names the colour


def test_a_line_without_text_freezes_no_font(me, image):
    add(me, image)
    checkout(me)
    design = LineDesign.objects.get()
    assert design.composition["text"] is None and not design.text_font
    assert design.logo and design.preflight


def test_stale_banned_text_is_refused_at_checkout(me, image):
    add(me, image, **TEXT)
    Brand.objects.filter(pk=image.request.brand_id).update(banned_terms="max")
    response = checkout(me)
    assert response.status_code == 422
    html = response.content.decode()
    assert "can no longer be printed" in html and "max" in html.lower()
    assert not Order.objects.exists() and CartLine.objects.count() == 1


def test_a_font_removed_since_is_refused_at_checkout(me, image):
    add(me, image, **TEXT)
    image.request.brand.typography.filter(role="heading").delete()
    response = checkout(me)
    assert response.status_code == 422 and "can no longer be printed" in response.content.decode()
    assert not Order.objects.exists()


def test_a_blocked_preflight_cannot_be_added_or_ordered(me):
    brand = brand_with_fonts(low_resolution="block")
    small = finished_design(mug(brand, slug="small-mug"), size=(512, 256))  # ~64 dpi on 200 mm
    response = add(me, small, **TEXT)
    assert not CartLine.objects.exists()
    assert "too few pixels" in me.get(response["Location"]).content.decode()


def test_a_brand_that_starts_blocking_refuses_the_cart_at_checkout(me):
    brand = brand_with_fonts()
    small = finished_design(mug(brand, slug="small-mug"), size=(512, 256))
    add(me, small, **TEXT)
    assert CartLine.objects.count() == 1
    Brand.objects.filter(pk=brand.pk).update(low_resolution="block")
    response = checkout(me)
    assert response.status_code == 422 and "too few pixels" in response.content.decode()
    assert not Order.objects.exists()


def test_the_text_follows_the_cart_into_the_account_at_login(image):
    cart = cart_get_or_create(session_key="visitor-me")
    layer = TextLayer(text="Ada", font="heading", color_hex="#1f2a44").as_dict()
    cart_add(cart=cart, product=image.request.product, base_color="White", design=image, text_layer=layer)
    user = make_user()
    cart_merge_into_user(user=user, session_key="visitor-me")
    assert Cart.objects.get(user=user).lines.get().text_layer == layer


def test_a_line_without_text_freezes_a_mockup_of_what_will_print_with_the_current_logo(me, image):
    """The variation's stored mockup was drawn with the logo of its day; the print job composes with
    the logo frozen at checkout, so the line's mockup is drawn again from the same spec."""
    from personalization.conditioning import artwork_spec_frozen
    from personalization.postprocess import mockup_for_spec
    from personalization.selectors import request_product_info

    brand = image.request.brand
    brand.logo.save("new-logo.png", ContentFile(png((120, 60), color=(200, 20, 160))), save=True)
    add(me, image)
    checkout(me)
    design = LineDesign.objects.get()
    assert design.composition["text"] is None
    assert opened(design.logo).getpixel((5, 5)) == (200, 20, 160)
    frozen_mockup = opened(design.mockup)
    assert ImageChops.difference(frozen_mockup, opened(image.mockup).resize(frozen_mockup.size)).getbbox()
    with design.image.open("rb") as fh:
        picture = Image.open(io.BytesIO(fh.read())).convert("RGB")
    expected = mockup_for_spec(
        picture,
        artwork_spec_frozen(design),
        request_product_info(image.request),
        base_color_hex=design.base_color_hex,
        finish="matte",
        reflectance=0.1,
    )
    assert ImageChops.difference(frozen_mockup, expected.convert("RGB")).getbbox() is None


def test_checkout_of_a_design_whose_file_is_gone_says_so_instead_of_a_500(me, image):
    add(me, image)
    image.image.storage.delete(image.image.name)
    response = checkout(me)
    assert response.status_code == 422  # the checkout form again, with the reason
    assert "no longer available: choose another variation" in response.content.decode()
    assert not Order.objects.exists() and not LineDesign.objects.exists()
    assert CartLine.objects.count() == 1  # nothing lost: the cart is kept
