"""The admin's "Export for print-on-demand" action (a ZIP) and the print-file download links."""

import html
import io
import json
import re
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from brand_guides.admin_scoping import SHOP_OWNER_GROUP
from personalization.fulfilment import fulfilment_files
from tests.factories import make_brand, make_user
from tests.fulfilment_helpers import PRINT_PX, make_export_order, order_design
from tests.private_media import GRANTED, is_file_url, private_path

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:shop_order_changelist"


def export(client, *orders):
    return client.post(
        reverse(CHANGELIST),
        {"action": "export_for_print_on_demand", "_selected_action": [str(o.pk) for o in orders]},
    )


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.fixture
def root_client(client):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_export_action_returns_a_zip_with_the_document_and_the_files(root_client):
    order = make_export_order()
    design = order_design(order)

    response = export(root_client, order)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{order.number}-print-on-demand.zip"' in response["Content-Disposition"]
    archive = unzip(response)
    folder = f"line-{design.order_line_id}"
    files = [name for name, _ in fulfilment_files(design)]  # print.pdf once the print job writes one
    assert {"print.png", "mockup.png"} <= set(files)
    assert sorted(archive.namelist()) == sorted(
        [f"{order.number}/order.json", *(f"{order.number}/{folder}/{name}" for name in files)]
    )
    document = json.loads(archive.read(f"{order.number}/order.json"))
    [item] = document["items"]
    assert item["placements"][0]["layers"][0]["url"] == f"{folder}/print.png"
    assert item["files"][1]["url"] == (f"{folder}/print.pdf" if design.print_pdf else None)
    assert item["files"][2]["url"] == f"{folder}/mockup.png"
    with design.print_file.open("rb") as fh:
        assert archive.read(f"{order.number}/{folder}/print.png") == fh.read()
    assert (item["files"][0]["width_px"], item["files"][0]["height_px"]) == PRINT_PX
    # The same document as the API's, but for the URLs: the same external ids.
    again = json.loads(unzip(export(root_client, order)).read(f"{order.number}/order.json"))
    assert again == document


def test_several_orders_make_one_zip_with_a_folder_each(root_client):
    first, second = make_export_order(), make_export_order(render=False)

    archive = unzip(export(root_client, first, second))

    names = archive.namelist()
    assert f"{first.number}/order.json" in names and f"{second.number}/order.json" in names
    pending = json.loads(archive.read(f"{second.number}/order.json"))
    assert pending["status"] == "print_file_pending"
    assert not [n for n in names if n.startswith(f"{second.number}/") and n.endswith("print.png")]


def test_a_brand_owner_exports_own_orders_and_not_mixed_ones(client):
    brand, other = make_brand(name="Harbour", slug="harbour"), make_brand(name="Zephyr", slug="zephyr")
    owner = make_user("owner", is_staff=True)
    owner.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    brand.owners.add(owner)
    client.force_login(owner)
    mine = make_export_order(brand=brand)
    mixed = make_export_order(brand=brand)
    theirs = make_export_order(brand=other)
    order_design(theirs).order_line.__class__.objects.filter(order=theirs).update(order=mixed)

    assert export(client, mine).status_code == 200
    refused = export(client, mixed)
    assert refused.status_code == 302
    messages = [str(m) for m in refused.wsgi_request._messages]
    assert messages == [f"Not exported: {mixed.number} also hold lines of brands you do not manage."]
    # Another brand's order is not even in the owner's list: nothing is selected, nothing exported.
    alone = make_export_order(brand=other, render=False)
    refused = export(client, alone)
    assert refused.status_code == 302
    assert [str(m) for m in refused.wsgi_request._messages][-1] == "No orders to export."


def test_order_and_line_design_pages_link_the_print_files(root_client):
    order = make_export_order()
    design = order_design(order)

    page = root_client.get(reverse("admin:shop_order_change", args=[order.pk])).content.decode()
    assert download_link(page, "Print PNG", design.print_file)
    assert (
        download_link(page, "Print PDF", design.print_pdf)
        if design.print_pdf
        else "Print PDF: pending" in page
    )

    page = root_client.get(
        reverse("admin:personalization_linedesign_change", args=[design.pk])
    ).content.decode()
    assert download_link(page, "Print PNG", design.print_file)
    # The private-file view serves it to the staff member (on S3: a redirect to a fresh signed URL).
    assert root_client.get(private_path(design.print_file)).status_code == GRANTED


def download_link(page: str, label: str, field_file) -> bool:
    """The page links the file with ``download`` (its storage URL: /private-media/ or signed S3)."""
    hrefs = re.findall(rf'href="([^"]+)" download>{label}</a>', page)
    return any(is_file_url(html.unescape(href), field_file) for href in hrefs)
