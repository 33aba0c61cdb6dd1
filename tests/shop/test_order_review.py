"""What the customer sees of the shop's approval of their designs: on the order page each
personalized line says whether it waits for the shop, was approved or was rejected (with the
reason); plain lines say nothing; "My orders" marks orders with a waiting or rejected design."""

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from brand_guides.models import Brand
from personalization.approval import line_design_approve, line_design_reject
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.services import generation_request_create
from shop.models import Order
from tests.factories import make_brand, make_product, png
from tests.shop_helpers import checkout_data

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
WAITING = "A person at the shop checks this design before it is printed."


@pytest.fixture
def manual_product():
    brand = make_brand(name="Harbour", slug="harbour", approval_policy=Brand.ApprovalPolicy.MANUAL)
    return make_product(brand=brand, name="Harbour tee", slug="harbour-tee")


def design(product) -> GenerationImage:
    g = generation_request_create(
        product=product, base_color="White", description="a fox", session_key="visitor-me"
    )
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    image = GenerationImage(request=g, index=0, seed=g.seed, width=64, height=64)
    image.image.save("design.png", ContentFile(png()), save=False)
    image.mockup.save("mockup.png", ContentFile(png(color=(0, 0, 200))), save=False)
    image.save()
    return image


def place(client, product) -> Order:
    """An order of one personalized and one plain line, through the shop's checkout."""
    client.post(
        reverse("shop:cart_add"),
        {"product": product.slug, "base_color": "White", "design": design(product).pk},
    )
    client.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black"})
    response = client.post(reverse("shop:checkout"), checkout_data())
    assert response.status_code == 302
    return Order.objects.get(number=response["Location"].strip("/").rsplit("/", 1)[1])


def notices(html: str) -> list[str]:
    """The review notices of the page, as text (tags dropped, spaces collapsed)."""
    found = re.findall(r'<p class="review-notice"[^>]*>(.*?)</p>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", notice).split()) for notice in found]


def test_a_line_waiting_for_the_shop_says_so_and_the_plain_line_says_nothing(me, manual_product):
    order = place(me, manual_product)

    html = me.get(order.get_absolute_url()).content.decode()

    assert notices(html) == [f"Waiting for the shop&#x27;s approval {WAITING}"]
    assert 'class="status-pill status-pill--pending_review"' in html


def test_a_rejected_line_shows_the_reason_escaped(me, manual_product):
    order = place(me, manual_product)
    line_design_reject(design=LineDesign.objects.get(), reason="The logo is <b>not</b> yours to print.")

    html = me.get(order.get_absolute_url()).content.decode()

    [notice] = notices(html)
    assert notice == (
        "Rejected The shop did not approve this design for printing. "
        "Reason: The logo is &lt;b&gt;not&lt;/b&gt; yours to print."
    )
    assert "<b>not</b>" not in html and "status-pill--rejected" in html


def test_an_approved_line_says_it_is_approved(me, manual_product):
    order = place(me, manual_product)
    line_design_approve(design=LineDesign.objects.get())

    assert notices(me.get(order.get_absolute_url()).content.decode()) == ["Approved Approved for printing."]


def test_an_automatic_brands_line_is_approved_at_checkout(me):
    order = place(me, make_product(name="Classic tee", slug="classic-tee"))  # automatic policy

    html = me.get(order.get_absolute_url()).content.decode()

    assert notices(html) == ["Approved Approved for printing."]
    assert WAITING not in html


def test_my_orders_marks_waiting_and_rejected_designs_in_a_fixed_number_of_queries(me, manual_product):
    def listing() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = me.get(reverse("shop:orders"))
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    waiting = place(me, manual_product)
    listing()  # shows (and clears) the checkout's flash message
    html, queries = listing()
    assert "1 design awaiting approval" in html and "rejected</span>" not in html

    rejected, plain = place(me, manual_product), place(me, make_product())
    line_design_reject(design=LineDesign.objects.get(order_line__order=rejected), reason="Not ours to print.")
    listing()
    html, more = listing()
    assert more == queries
    rows = dict(re.findall(r'<th scope="row"><a href="[^"]+">(\w+)</a></th>(.*?)</tr>', html, re.S))
    assert "1 design awaiting approval" in rows[waiting.number] and "rejected" not in rows[waiting.number]
    assert "1 design rejected" in rows[rejected.number] and "approval" not in rows[rejected.number]
    assert "approval" not in rows[plain.number] and "rejected" not in rows[plain.number]
