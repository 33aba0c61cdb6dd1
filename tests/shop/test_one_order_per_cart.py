"""One order per cart: checking a cart out twice (two browser tabs, two checkout tokens) makes one
order; the second checkout lands on the first order with a clear message. The concurrent case runs
two real transactions in two threads (forced to overlap on PostgreSQL)."""

import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.services import generation_request_create
from shop.models import Cart, CartLine, Order, OrderLine
from shop.services import cart_add, cart_get_or_create, order_place, order_place_from_lines
from tests.factories import make_product, make_user, png, visitor
from tests.worker_fixtures import wait_until

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
VISITOR = "visitor-me"
ADDRESS = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address_line1": "12 St James's Square",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "gb",
}


@pytest.fixture
def product(db):
    return make_product(name="Classic tee", slug="classic-tee")


def design(product) -> GenerationImage:
    g = generation_request_create(
        product=product, base_color="White", description="a fox", session_key=VISITOR
    )
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    g.refresh_from_db()
    image = GenerationImage(request=g, index=0, seed=g.seed, width=64, height=64, brand_consistency=77)
    image.image.save("design.png", ContentFile(png()), save=False)
    image.mockup.save("mockup.png", ContentFile(png(color=(0, 0, 200))), save=False)
    image.save()
    return image


def filled_cart(product) -> Cart:
    """The visitor's cart with a personalized line and a plain one."""
    cart = cart_get_or_create(session_key=VISITOR)
    cart_add(cart=cart, product=product, base_color="White", design=design(product))
    cart_add(cart=cart, product=product, base_color="Black", quantity=2)
    return cart


def place(cart, token=None, **extra):
    return order_place(
        cart=cart, checkout_token=token or uuid.uuid4(), session_key=VISITOR, **ADDRESS, **extra
    )


# --- one after the other -------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_tokens_for_one_cart_make_one_order(product, django_capture_on_commit_callbacks):
    cart = filled_cart(product)
    with django_capture_on_commit_callbacks():
        first = place(cart)
        second = place(cart)  # another tab: its own token
    assert second == first and second.checkout_token == first.checkout_token
    assert Order.objects.count() == 1 and first.cart == cart
    assert OrderLine.objects.count() == 2 and LineDesign.objects.count() == 1
    assert not CartLine.objects.exists()


@pytest.mark.django_db
def test_second_tab_lands_on_the_first_order_with_a_message(product):
    me = visitor(Client(), VISITOR)
    filled_cart(product)
    tabs = [me.get(reverse("shop:checkout")).context["form"]["checkout_token"].value() for _ in range(2)]
    assert tabs[0] != tabs[1]
    first = me.post(reverse("shop:checkout"), {**ADDRESS, "checkout_token": tabs[0]}, follow=True)
    second = me.post(reverse("shop:checkout"), {**ADDRESS, "checkout_token": tabs[1]}, follow=True)
    order = Order.objects.get()
    assert first.redirect_chain == [(order.get_absolute_url(), 302)]
    assert f"Thank you! Order {order.number} is placed." in first.content.decode()
    assert second.redirect_chain == [(order.get_absolute_url(), 302)] and second.status_code == 200
    assert f"This cart was already ordered as {order.number}." in second.content.decode()
    assert "Thank you!" not in second.content.decode()
    assert LineDesign.objects.count() == 1


@pytest.mark.django_db
def test_a_cart_filled_again_becomes_a_new_order(product):
    cart = filled_cart(product)
    first = place(cart)
    cart_add(cart=cart, product=product, base_color="White")
    second = place(cart)
    assert second != first and Order.objects.count() == 2
    assert [line.quantity for line in second.lines.all()] == [1] and second.cart == cart
    assert place(cart) == second  # a third tab lands on the newest


@pytest.mark.django_db
def test_a_cart_filled_then_emptied_by_hand_is_empty_not_the_old_order(product):
    cart = filled_cart(product)
    place(cart)
    line = cart_add(cart=cart, product=product, base_color="White")
    CartLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(ValidationError, match="Your cart is empty."):
        place(cart)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_cart_that_never_ordered_is_empty(product):
    with pytest.raises(ValidationError, match="Your cart is empty."):
        place(cart_get_or_create(session_key="visitor-new"))
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_cart_deleted_meanwhile_is_empty(product):
    cart = filled_cart(product)
    Cart.objects.filter(pk=cart.pk).delete()
    with pytest.raises(ValidationError, match="Your cart is empty."):
        place(cart)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_api_still_orders_from_lines_each_time(product):
    """order_place_from_lines goes through a transient cart per call: two calls, two orders."""
    user = make_user()
    lines = [{"product": product, "base_color": "White", "quantity": 2}]
    first = order_place_from_lines(lines=lines, user=user, **ADDRESS)
    second = order_place_from_lines(lines=lines, user=user, **ADDRESS)
    assert first != second and Order.objects.count() == 2
    first.refresh_from_db()
    assert first.cart is None and not Cart.objects.exists()  # the transient carts are gone
    assert [line.quantity for line in second.lines.all()] == [2]


# --- at the same time ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_tabs_checking_out_at_once_make_one_order(product):
    """Two real transactions, each in its own thread and database connection, started together.

    On PostgreSQL their overlap is forced: the first to reach the order's validation waits until
    the other one is either blocked on a lock (the cart row) or has reached the same point (no lock:
    both read the lines, and the old code made two orders). SQLite takes its write lock at BEGIN
    (transaction_mode IMMEDIATE) and cannot show who waits, so there they just start together."""
    cart = filled_cart(product)
    postgres = connection.vendor == "postgresql"
    tokens = {"tab-1": uuid.uuid4(), "tab-2": uuid.uuid4()}
    pids: dict[str, int] = {}
    arrived: list[str] = []
    started = threading.Barrier(2, timeout=30)
    results: dict[str, Order] = {}
    failures: list[BaseException] = []
    real_full_clean = Order.full_clean

    def blocked_on_a_lock(pid: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
            return cursor.fetchone()[0]

    def full_clean(order, *args, **kwargs):
        me = threading.current_thread().name
        arrived.append(me)
        if postgres and len(arrived) == 1:
            other = pids["tab-2" if me == "tab-1" else "tab-1"]
            wait_until(
                lambda: len(arrived) == 2 or blocked_on_a_lock(other),
                timeout=30,
                message="the other checkout to wait on the cart's lock or to reach the order",
            )
        return real_full_clean(order, *args, **kwargs)

    def checkout():
        name = threading.current_thread().name
        try:
            if postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pids[name] = cursor.fetchone()[0]
            started.wait()
            results[name] = place(Cart.objects.get(pk=cart.pk), tokens[name])
        except BaseException as exc:
            failures.append(exc)
            started.abort()
        finally:
            connections.close_all()

    Order.full_clean = full_clean
    try:
        threads = [threading.Thread(target=checkout, name=name) for name in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        Order.full_clean = real_full_clean
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    order = Order.objects.get()  # exactly one
    assert results["tab-1"] == results["tab-2"] == order
    assert order.checkout_token in tokens.values() and order.cart_id == cart.pk
    assert len(arrived) == 1  # the second checkout never got as far as building an order
    assert OrderLine.objects.count() == 2 and LineDesign.objects.count() == 1
    assert not CartLine.objects.exists()
