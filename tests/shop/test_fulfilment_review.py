"""Print-on-demand export of lines under the brand's approval policy: a line waiting for the shop's
approval or rejected by it goes out with its review and no file (no URL in the staff API's document,
no file in the admin's ZIP); once approved and its print file made, it is ``ready``."""

import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from brand_guides.models import Brand
from personalization.approval import (
    line_design_approve,
    line_design_regenerate,
    line_design_reject,
    line_regeneration_settle,
)
from personalization.models import GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from shop.models import OrderLine
from tests.factories import make_brand, make_user
from tests.foundation_helpers import make_generation_image
from tests.fulfilment_helpers import make_export_order, order_design
from tests.personalization.api.conftest import token_client
from tests.private_media import is_file_url

pytestmark = pytest.mark.django_db
REASON = "The picture shows another company's logo."


@pytest.fixture
def brand():
    return make_brand(name="Harbour", slug="harbour", approval_policy=Brand.ApprovalPolicy.MANUAL)


@pytest.fixture
def root():
    return make_user("root", is_staff=True, is_superuser=True)


def document(user, order) -> dict:
    response = token_client(user).get(f"/api/v1/orders/{order.number}/fulfilment/")
    assert response.status_code == 200
    return response.json()


def file_urls(item: dict) -> list:
    return [layer.get("url") for layer in item["placements"][0]["layers"] if layer["type"] == "file"] + [
        f["url"] for f in item["files"]
    ]


def zip_names(client, order) -> list[str]:
    response = client.post(
        reverse("admin:shop_order_changelist"),
        {"action": "export_for_print_on_demand", "_selected_action": [str(order.pk)]},
    )
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return sorted(archive.namelist())


def zip_document(client, order) -> dict:
    response = client.post(
        reverse("admin:shop_order_changelist"),
        {"action": "export_for_print_on_demand", "_selected_action": [str(order.pk)]},
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return json.loads(archive.read(f"{order.number}/order.json"))


def test_a_line_waiting_for_approval_gives_no_file_though_its_print_file_exists(brand, root, client):
    order = make_export_order(brand=brand)  # the print job has run: the files exist
    design = order_design(order)
    assert design.review_state == LineDesign.ReviewState.PENDING and design.print_file

    body = document(root, order)

    assert body["status"] == "pending_review"
    [item] = body["items"]
    assert item["status"] == "pending_review"
    assert item["review"] == {"state": "pending_review", "reason": "", "reviewed_at": None}
    assert file_urls(item) == [None, None, None, None]
    assert {f["status"] for f in item["files"]} == {"pending"}
    assert design.print_file.name not in json.dumps(body) and design.mockup.name not in json.dumps(body)
    client.force_login(root)
    assert zip_names(client, order) == [f"{order.number}/order.json"]
    assert zip_document(client, order)["items"][0]["status"] == "pending_review"


def test_a_rejected_line_gives_its_reason_and_no_file(brand, root, client):
    order = make_export_order(brand=brand)
    design = line_design_reject(design=order_design(order), reason=REASON, user=root)

    body = document(root, order)

    assert body["status"] == "rejected"
    [item] = body["items"]
    assert item["status"] == "rejected"
    assert item["review"] == {
        "state": "rejected",
        "reason": REASON,
        "reviewed_at": design.reviewed_at.isoformat(),
    }
    assert file_urls(item) == [None, None, None, None]
    client.force_login(root)
    assert zip_names(client, order) == [f"{order.number}/order.json"]


def test_an_approved_line_is_ready_once_its_print_file_exists(brand, root, client):
    order = make_export_order(brand=brand, render=False)
    design = line_design_approve(design=order_design(order), user=root)
    assert design.review_state == LineDesign.ReviewState.APPROVED

    body = document(root, order)
    assert body["status"] == "print_file_pending"  # approved; the print job has not run yet
    assert body["items"][0]["review"]["state"] == "approved"

    design = line_design_render_print_file(design_id=design.pk)  # the worker's print job
    body = document(root, order)
    assert body["status"] == "ready"
    [item] = body["items"]
    assert item["status"] == "ready"
    assert item["review"] == {
        "state": "approved",
        "reason": "",
        "reviewed_at": design.reviewed_at.isoformat(),
    }
    assert is_file_url(item["files"][0]["url"], design.print_file, absolute_host="http://testserver")
    assert is_file_url(item["files"][2]["url"], design.mockup, absolute_host="http://testserver")
    client.force_login(root)
    folder = f"{order.number}/line-{design.order_line_id}"
    assert {f"{folder}/print.png", f"{folder}/mockup.png"} <= set(zip_names(client, order))


def test_an_automatic_brands_line_is_approved_at_checkout_and_ready(root):
    order = make_export_order(brand=make_brand(approval_policy=Brand.ApprovalPolicy.AUTOMATIC))
    design = order_design(order)

    [item] = document(root, order)["items"]

    assert item["status"] == "ready"
    assert item["review"] == {
        "state": "approved",
        "reason": "",
        "reviewed_at": design.reviewed_at.isoformat(),
    }


@pytest.mark.parametrize(
    "states, expected",
    [
        (("rejected", "pending_review", "approved"), "rejected"),
        (("pending_review", "approved"), "pending_review"),
        (("approved", "approved"), "ready"),
    ],
)
def test_the_orders_status_is_the_first_line_status_that_holds_it_back(brand, root, states, expected):
    order = make_export_order(brand=brand)
    for _ in states[1:]:
        other = make_export_order(brand=brand)
        OrderLine.objects.filter(order=other, design__isnull=False).update(order=order)
    for design, state in zip(
        LineDesign.objects.filter(order_line__order=order).order_by("pk"), states, strict=True
    ):
        LineDesign.objects.filter(pk=design.pk).update(
            review_state=state,
            review_reason=REASON if state == "rejected" else "",
            reviewed_at=None if state == "pending_review" else timezone.now(),
        )

    body = document(root, order)

    assert sorted(item["status"] for item in body["items"]) == sorted(
        "ready" if state == "approved" else state for state in states
    )
    assert body["status"] == expected


def test_a_regenerated_design_never_goes_out_with_the_old_pictures_print_file(brand, root):
    order = make_export_order(brand=brand)
    design = order_design(order)
    generation = line_design_regenerate(
        design=design, prompt="a calm harbour at dusk, flat colours", user=root
    )
    make_generation_image(generation)
    GenerationRequest.objects.filter(pk=generation.pk).update(status=GenerationRequest.Status.SUCCEEDED)
    assert line_regeneration_settle(design=design) == 1
    assert design.regeneration_id is None and design.source_image.request_id == generation.pk

    design = line_design_approve(design=design, user=root)

    body = document(root, order)
    assert body["status"] == "print_file_pending" and file_urls(body["items"][0])[:3] == [None, None, None]
    design = line_design_render_print_file(design_id=design.pk)
    body = document(root, order)
    assert body["status"] == "ready"
    assert is_file_url(
        body["items"][0]["files"][0]["url"], design.print_file, absolute_host="http://testserver"
    )
