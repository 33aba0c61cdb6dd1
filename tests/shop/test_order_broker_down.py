"""Checkout with django-q2's broker down (issue 14): the order is placed (no 500 after the commit,
so no retried duplicate), and the print job, owed on the design's row, is woken by the sweeper once."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from personalization.conf import conf
from personalization.models import LineDesign
from personalization.tasks import print_file_render, sweep
from shop.models import CartLine, Order
from shop.services import cart_get_or_create
from tests.broker_helpers import Broker, broken_broker, sweeps
from tests.factories import make_product, visitor
from tests.foundation_helpers import make_succeeded_generation
from tests.shop_helpers import checkout_data


@pytest.fixture
def broker(monkeypatch) -> Broker:
    return broken_broker(monkeypatch)


VISITOR = "visitor-me"


@pytest.mark.django_db(transaction=True)
def test_checkout_with_the_broker_down_places_one_order_and_the_sweep_wakes_its_print_job_once(broker):
    product = make_product()
    image = make_succeeded_generation(product, session_key=VISITOR).images.get()
    cart = cart_get_or_create(session_key=VISITOR)
    CartLine.objects.create(cart=cart, product=product, base_color=product.base_colors.first(), design=image)
    response = visitor(Client(), VISITOR).post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    design = LineDesign.objects.get(order_line__order=order)
    assert design.print_job_wake_at and not design.print_file
    assert broker.sent == [] and broker.refused >= 1
    broker.up = True
    start = design.created_at
    for at in sweeps(start, every=10, count=conf.LEASE_SECONDS * 4 // 10):
        sweep(now=at)
    assert broker.sent == [f"print-file-{design.pk}"]
    print_file_render(design.pk)  # the worker made the files: nothing is owed any more
    design.refresh_from_db()
    assert design.print_file and design.print_job_wake_at is None
    for at in sweeps(start + timedelta(hours=1), every=60, count=100):
        sweep(now=at)
    assert broker.sent == [f"print-file-{design.pk}"]
