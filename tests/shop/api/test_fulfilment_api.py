"""GET /api/v1/orders/<lookup>/fulfilment/: the print-on-demand document, for staff only."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_brand, make_user
from tests.fulfilment_helpers import make_export_order, order_design
from tests.personalization.api.conftest import token_client
from tests.private_media import GRANTED, ON_S3, is_file_url, private_path, without_signatures

pytestmark = pytest.mark.django_db


def url(order) -> str:
    return f"/api/v1/orders/{order.number}/fulfilment/"


@pytest.fixture
def brand():
    return make_brand(name="Harbour", slug="harbour")


@pytest.fixture
def order(brand):
    return make_export_order(brand=brand)


@pytest.fixture
def owner(brand):
    user = make_user("harbour-owner", is_staff=True)
    brand.owners.add(user)
    return user


def test_a_superuser_gets_the_document_with_absolute_private_urls(order):
    root = token_client(make_user("root", is_staff=True, is_superuser=True))
    design = order_design(order)

    response = root.get(url(order))

    assert response.status_code == 200
    body = response.json()
    assert body["external_id"] == f"pz-order-{order.number}"
    assert body["status"] == "ready"
    assert body["shipping"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "address1": "1 Analytical Way",
        "address2": "",
        "city": "London",
        "zip": "N1 1AA",
        "country_code": "GB",
    }
    [item] = body["items"]
    assert item["variant"]["product_type"] == "mug" and item["quantity"] == 1
    assert item["placements"][0]["technique"] == "sublimation"
    png_url = item["placements"][0]["layers"][0]["url"]
    assert is_file_url(png_url, design.print_file, absolute_host="http://testserver")
    assert item["files"][0]["url"].split("?")[0] == png_url.split("?")[0]
    [plain] = body["plain_items"]
    assert plain["quantity"] == 1 and plain["product_type"] == "mug"
    # The private-file view serves it to the same token (it checks brand staff; on S3 a redirect).
    served = root.get(private_path(design.print_file))
    assert served.status_code == GRANTED
    if not ON_S3:
        assert served["Content-Type"] == "image/png"


def test_the_same_order_exported_twice_gives_the_same_json(order, owner):
    client = token_client(owner)
    first, second = client.get(url(order)), client.get(f"/api/v1/orders/{order.pk}/fulfilment/")
    assert first.status_code == second.status_code == 200
    if ON_S3:  # the same document; each S3 URL is signed anew (with the time of signing)
        assert without_signatures(first.json()) == without_signatures(second.json())
    else:
        assert first.content == second.content


def test_a_brand_owner_is_refused_another_brands_order(owner):
    other = make_export_order(brand=make_brand(name="Zephyr", slug="zephyr"))
    response = token_client(owner).get(url(other))
    assert response.status_code == 403
    assert "Zephyr" not in response.content.decode()


def test_a_brand_owner_is_refused_an_order_mixing_in_another_brands_line(order, owner):
    other = make_export_order(brand=make_brand(name="Zephyr", slug="zephyr"))
    order_design(other).order_line.__class__.objects.filter(order=other).update(order=order)
    assert token_client(owner).get(url(order)).status_code == 403


def test_customers_even_the_orders_own_are_refused(order):
    customer = make_user("ada")
    order.user = customer
    order.save(update_fields=["user"])
    assert token_client(customer).get(url(order)).status_code == 403


def test_anonymous_callers_are_refused(order):
    assert APIClient().get(url(order)).status_code in (401, 403)


def test_an_unknown_order_is_404_for_staff(owner):
    assert token_client(owner).get("/api/v1/orders/PZNOPE/fulfilment/").status_code == 404
    for lookup in ("³", "1²"):  # digits to str.isdigit(), not to int(): not a 500
        assert token_client(owner).get(f"/api/v1/orders/{lookup}/fulfilment/").status_code == 404


def test_a_pending_print_file_is_reported_not_a_500(brand, owner):
    order = make_export_order(brand=brand, render=False)
    response = token_client(owner).get(url(order))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "print_file_pending"
    assert body["items"][0]["status"] == "print_file_pending"
    assert body["items"][0]["placements"][0]["layers"][0]["url"] is None


def test_the_line_design_of_an_order_shows_print_urls_to_its_brands_staff_only(order, owner):
    order.user = owner
    order.save(update_fields=["user"])
    design = order_design(order)
    staff = token_client(owner).get(f"/api/v1/orders/{order.number}/").json()
    [line] = [line for line in staff["lines"] if line["design"]]
    assert is_file_url(line["design"]["print_file_url"], design.print_file, absolute_host="http://testserver")
    if design.print_pdf:
        assert is_file_url(
            line["design"]["print_pdf_url"], design.print_pdf, absolute_host="http://testserver"
        )
    else:
        assert line["design"]["print_pdf_url"] is None

    customer = make_user("ada")
    order.user = customer
    order.save(update_fields=["user"])
    body = token_client(customer).get(f"/api/v1/orders/{order.number}/").json()
    [line] = [line for line in body["lines"] if line["design"]]
    assert line["design"]["print_file_url"] is None and line["design"]["print_pdf_url"] is None
