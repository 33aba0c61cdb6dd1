"""At login the shop merges the visitor's cart into the account's (its own receiver) and the plugin
claims the visitor's designs (the plugin's receiver): each does its own part."""

import pytest
from django.contrib.auth.signals import user_logged_in
from django.urls import reverse

from personalization.models import GenerationRequest
from personalization.signals import claim_visitor_designs
from shop.models import Cart, CartLine
from tests.factories import make_product, make_user, visitor
from tests.foundation_helpers import make_generation

pytestmark = pytest.mark.django_db


def _log_in(client):
    response = client.post(reverse("shop:login"), {"username": "lin", "password": "pass-w0rd-long"})
    assert response.status_code == 302


def test_logging_in_merges_the_cart_and_claims_the_designs(client):
    product = make_product()
    design = make_generation(product, session_key="visitor-k", customer=None)
    cart = Cart.objects.create(session_key="visitor-k")
    CartLine.objects.create(cart=cart, product=product, base_color=product.base_colors.first(), quantity=2)
    user = make_user("lin")

    _log_in(visitor(client, "visitor-k"))

    assert not Cart.objects.filter(pk=cart.pk).exists()
    assert [(line.product, line.quantity) for line in Cart.objects.get(user=user).lines.all()] == [
        (product, 2)
    ]
    design.refresh_from_db()
    assert design.customer == user


def test_the_shops_receiver_merges_the_cart_only(client):
    """With the plugin's receiver disconnected, the cart still moves and the designs stay anonymous:
    the shop no longer claims designs itself."""
    product = make_product()
    design = make_generation(product, session_key="visitor-k", customer=None)
    cart = Cart.objects.create(session_key="visitor-k")
    CartLine.objects.create(cart=cart, product=product, base_color=product.base_colors.first())
    user = make_user("lin")
    uid = "personalization.claim_visitor_designs"
    assert user_logged_in.disconnect(dispatch_uid=uid)
    try:
        _log_in(visitor(client, "visitor-k"))
    finally:
        user_logged_in.connect(claim_visitor_designs, dispatch_uid=uid)

    assert Cart.objects.get(user=user).lines.count() == 1
    design.refresh_from_db()
    assert design.customer is None
    assert not GenerationRequest.objects.filter(customer=user).exists()


def test_logging_in_never_fails_on_a_cart_line_of_a_product_taken_off_sale(client):
    """The visitor's plain line cannot be re-added (no longer for sale): it moves as it is, and
    logging in succeeds; a line that can still merge does."""
    gone, kept = make_product(), make_product()
    cart = Cart.objects.create(session_key="visitor-k")
    CartLine.objects.create(cart=cart, product=gone, base_color=gone.base_colors.first(), quantity=3)
    CartLine.objects.create(cart=cart, product=kept, base_color=kept.base_colors.first(), quantity=1)
    type(gone).objects.filter(pk=gone.pk).update(is_published=False)
    user = make_user("lin")
    mine = Cart.objects.create(user=user)
    CartLine.objects.create(cart=mine, product=kept, base_color=kept.base_colors.first(), quantity=2)

    _log_in(visitor(client, "visitor-k"))

    lines = {line.product: line.quantity for line in Cart.objects.get(user=user).lines.all()}
    assert lines == {gone: 3, kept: 3}
    assert not Cart.objects.filter(pk=cart.pk).exists()
