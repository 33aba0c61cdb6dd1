"""The host shop's pages: catalogue, product, cart, checkout, orders, accounts; ownership, CSRF."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.services import generation_request_create
from shop.models import Cart, CartLine, Order
from tests.factories import make_category, make_product, make_user, png, visitor
from tests.shop_helpers import checkout_data

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture
def product():
    return make_product(name="Classic tee", slug="classic-tee")


def design(product, *, key="visitor-me", color="White") -> GenerationImage:
    g = generation_request_create(product=product, base_color=color, description="a fox", session_key=key)
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    image = GenerationImage(request=g, index=0, seed=g.seed, width=64, height=64, brand_consistency=77)
    image.image.save("design.png", ContentFile(png()), save=False)
    image.mockup.save("mockup.png", ContentFile(png(color=(0, 0, 200))), save=False)
    image.save()
    return image


# --- catalogue and product ---------------------------------------------------------------------


def test_catalogue_groups_published_products_by_category(me, django_assert_max_num_queries):
    tees = make_category(name="Tees", slug="tees", position=1)
    mugs = make_category(name="Mugs", slug="mugs", position=2)
    make_product(name="Classic tee", slug="classic", category=tees)
    make_product(name="Big mug", slug="big-mug", category=mugs, product_type="mug")
    make_product(name="Secret", slug="secret", category=mugs, is_published=False)
    with django_assert_max_num_queries(8):
        response = me.get(reverse("shop:catalogue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Tees") < html.index("Classic tee") < html.index("Mugs") < html.index("Big mug")
    assert "Secret" not in html
    assert 'href="/products/classic/"' in html


def test_product_page_shows_colours_price_print_area_and_personalize(me, product):
    response = me.get(reverse("shop:product", args=[product.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "White" in html and "Black" in html and "£24.00" in html
    assert "250 × 300 mm at 300 dpi" in html
    assert f'href="/personalize/?product={product.slug}">Personalize</a>' in html


def test_unpublished_or_unknown_product_is_404(me):
    hidden = make_product(is_published=False)
    assert me.get(reverse("shop:product", args=[hidden.slug])).status_code == 404
    assert me.get("/products/nope/").status_code == 404


# --- cart ---------------------------------------------------------------------------------------


def test_plain_lines_merge_and_personalized_lines_never_do(me, product):
    url = reverse("shop:cart_add")
    assert me.post(url, {"product": product.slug, "base_color": "White"}).status_code == 302
    me.post(url, {"product": product.slug, "base_color": "White"})
    image = design(product)
    for _ in range(2):
        response = me.post(url, {"product": product.slug, "base_color": "White", "design": image.pk})
        assert response.status_code == 302 and response["Location"] == "/cart/"
    cart = Cart.objects.get(session_key="visitor-me")
    lines = list(cart.lines.order_by("id"))
    assert [(line.quantity, line.design_id) for line in lines] == [(2, None), (1, image.pk), (1, image.pk)]
    html = me.get(reverse("shop:cart")).content.decode()
    assert html.count(image.mockup.name) == 2  # storage keys: signed S3 URLs differ per signing
    assert ">3<" in html  # the cart badge counts lines


def test_adding_someone_elses_design_is_404(me, product):
    theirs = design(product, key="visitor-stranger")
    response = me.post(
        reverse("shop:cart_add"), {"product": product.slug, "base_color": "White", "design": theirs.pk}
    )
    assert response.status_code == 404
    assert not CartLine.objects.exists()


def test_adding_a_design_with_the_wrong_colour_shows_a_message(me, product):
    image = design(product)
    response = me.post(
        reverse("shop:cart_add"),
        {"product": product.slug, "base_color": "Black", "design": image.pk},
        follow=True,
    )
    assert "another colour" in response.content.decode()
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("data", [{}, {"product": "classic-tee", "base_color": "Purple"}, {"product": "x y"}])
def test_adding_bad_input_never_500s(me, product, data):
    response = me.post(reverse("shop:cart_add"), data, follow=True)
    assert response.status_code == 200
    assert not CartLine.objects.exists()


def test_update_quantity_and_remove(me, stranger, product):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black"})
    line = CartLine.objects.get()
    assert me.post(reverse("shop:cart_line_update", args=[line.pk]), {"quantity": "3"}).status_code == 302
    line.refresh_from_db()
    assert line.quantity == 3
    for bad in ("0", "100", "x"):
        me.post(reverse("shop:cart_line_update", args=[line.pk]), {"quantity": bad})
        line.refresh_from_db()
        assert line.quantity == 3
    assert (
        stranger.post(reverse("shop:cart_line_update", args=[line.pk]), {"quantity": "5"}).status_code == 404
    )
    assert stranger.post(reverse("shop:cart_line_remove", args=[line.pk])).status_code == 404
    assert me.post(reverse("shop:cart_line_remove", args=[line.pk])).status_code == 302
    assert not CartLine.objects.exists()
    assert "Your cart is empty" in me.get(reverse("shop:cart")).content.decode()


# --- checkout and orders ------------------------------------------------------------------------


def test_checkout_renders_a_fresh_token(me, product):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    first = me.get(reverse("shop:checkout"))
    second = me.get(reverse("shop:checkout"))
    assert first.status_code == 200
    token = first.context["form"]["checkout_token"].value()
    assert uuid.UUID(token).version == 4 and token != second.context["form"]["checkout_token"].value()
    html = first.content.decode()
    assert f'type="hidden" name="checkout_token" value="{token}"' in html
    for name in ("full_name", "email", "address_line1", "address_line2", "city", "postcode", "country"):
        assert f'name="{name}"' in html


def test_checkout_freezes_the_design_and_shows_it_on_the_order_page(
    me, product, django_capture_on_commit_callbacks
):
    image = design(product)
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White", "design": image.pk})
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black"})
    with django_capture_on_commit_callbacks():
        response = me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    assert order.status == Order.Status.AWAITING_PAYMENT and order.country == "GB"
    assert order.session_key == "visitor-me" and order.total == 48
    frozen = LineDesign.objects.get()
    html = me.get(response["Location"]).content.decode()
    assert frozen.image.name in html and frozen.mockup.name in html and frozen.optimized_prompt in html
    assert "Awaiting payment" in html and "Ada Lovelace" in html
    assert not CartLine.objects.exists()


def test_double_submit_creates_one_order(me, product):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    data = checkout_data()
    first = me.post(reverse("shop:checkout"), data)
    second = me.post(reverse("shop:checkout"), data)
    assert Order.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    "field, value",
    [("full_name", ""), ("email", "not-an-email"), ("address_line1", ""), ("city", ""), ("postcode", ""),
     ("country", "GBR"), ("country", "1"), ("checkout_token", "nope")],
)  # fmt: skip
def test_checkout_bad_input_shows_errors_and_creates_nothing(me, product, field, value):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    response = me.post(reverse("shop:checkout"), checkout_data(**{field: value}))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Order.objects.exists() and CartLine.objects.count() == 1


def test_checkout_with_an_empty_cart(me):
    response = me.post(reverse("shop:checkout"), checkout_data())
    assert response.status_code == 422
    assert "Your cart is empty." in response.content.decode()
    assert not Order.objects.exists()


def test_orders_are_visible_to_their_owner_only(me, stranger, product):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert order.number in me.get(reverse("shop:orders")).content.decode()
    assert me.get(order.get_absolute_url()).status_code == 200
    assert order.number not in stranger.get(reverse("shop:orders")).content.decode()
    assert stranger.get(order.get_absolute_url()).status_code == 404
    other_user = make_user()
    stranger.force_login(other_user)
    assert stranger.get(order.get_absolute_url()).status_code == 404


def test_a_logged_in_customers_orders_follow_the_account(client, product):
    user = make_user()
    client.force_login(user)
    client.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    client.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert order.user == user
    elsewhere = Client()
    elsewhere.force_login(user)
    assert order.number in elsewhere.get(reverse("shop:orders")).content.decode()
    assert elsewhere.get(order.get_absolute_url()).status_code == 200
    assert Client().get(order.get_absolute_url()).status_code == 404


# --- accounts -----------------------------------------------------------------------------------


def test_signup_logs_in_and_keeps_the_cart(me, product):
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"})
    response = me.post(
        reverse("shop:signup"),
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": "a-Long-pass-9",
            "password2": "a-Long-pass-9",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="grace")
    assert Cart.objects.get(user=user).lines.count() == 1
    assert "grace" in me.get(reverse("shop:catalogue")).content.decode()


def test_signup_errors(me):
    response = me.post(reverse("shop:signup"), {"username": "", "password1": "a", "password2": "b"})
    assert response.status_code == 422
    assert not get_user_model().objects.exists()


def test_signup_ignores_an_offsite_next(me):
    response = me.post(
        reverse("shop:signup") + "?next=https://evil.example/",
        {
            "username": "g",
            "email": "g@example.com",
            "password1": "a-Long-pass-9",
            "password2": "a-Long-pass-9",
        },
    )
    assert response["Location"] == "/"


def test_login_and_logout(client):
    make_user("lin")
    assert client.get(reverse("shop:login")).status_code == 200
    response = client.post(reverse("shop:login"), {"username": "lin", "password": "pass-w0rd-long"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("shop:logout")).status_code == 405
    assert client.post(reverse("shop:logout")).status_code == 302
    assert "Log in" in client.get(reverse("shop:catalogue")).content.decode()


def test_every_page_renders(me, product):
    for name, args in [("catalogue", []), ("product", [product.slug]), ("cart", []), ("checkout", []),
                       ("orders", []), ("signup", []), ("login", [])]:  # fmt: skip
        assert me.get(reverse(f"shop:{name}", args=args)).status_code == 200, name


def test_every_shop_post_enforces_csrf(product):
    client = visitor(Client(enforce_csrf_checks=True), "visitor-me")
    cart = Cart.objects.create(session_key="visitor-me")
    line = CartLine.objects.create(cart=cart, product=product, base_color=product.base_colors.first())
    make_user("csrf")
    posts = [
        (reverse("shop:cart_add"), {"product": product.slug, "base_color": "White"}),
        (reverse("shop:cart_line_update", args=[line.pk]), {"quantity": "2"}),
        (reverse("shop:cart_line_remove", args=[line.pk]), {}),
        (reverse("shop:checkout"), checkout_data()),
        (
            reverse("shop:signup"),
            {"username": "x", "password1": "a-Long-pass-9", "password2": "a-Long-pass-9"},
        ),
        (reverse("shop:login"), {"username": "csrf", "password": "pass-w0rd-long"}),
        (reverse("shop:logout"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    line.refresh_from_db()
    assert line.quantity == 1 and not Order.objects.exists() and get_user_model().objects.count() == 1
