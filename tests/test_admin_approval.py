"""The shop owner's approval queue in the admin: the queue, one design's review page with its three
forms, the line designs' list (column, filter, actions), and who may see and decide what.

Two manual-policy brands, each with its owner in the "Shop owner" group; brand B's designs all carry
the word "Zephyr", so no page owner A opens may contain it."""

import html
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from brand_guides.admin_scoping import SHOP_OWNER_GROUP
from personalization import approval
from personalization.models import GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from tests.approval_helpers import make_manual_brand, ordered_design
from tests.factories import make_user
from tests.private_media import is_file_url

pytestmark = pytest.mark.django_db
ReviewState = LineDesign.ReviewState
QUEUE = reverse("admin:personalization_linedesign_approval")
MARKER = "zephyr"


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "personalization.queue.enqueue_generation", lambda pk: calls.append(("generation", pk))
    )
    monkeypatch.setattr(
        "personalization.queue.enqueue_print_file", lambda pk: calls.append(("print_file", pk))
    )
    return calls


def owner(username: str):
    user = make_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    return user


@pytest.fixture
def world():
    owner_a, owner_b = owner("owner-a"), owner("owner-b")
    brand_a = make_manual_brand(name="Acorn Goods", banned_terms="skull")
    brand_b = make_manual_brand(name="Zephyr Goods")
    brand_a.owners.add(owner_a)
    brand_b.owners.add(owner_b)
    customer = make_user("ada")
    first = ordered_design(brand=brand_a, user=customer, description="A lion on a hill")
    second = ordered_design(brand=brand_a, user=customer, description="An owl at night")
    theirs = ordered_design(brand=brand_b, description="Zephyr wind spirit")
    return SimpleNamespace(
        owner_a=owner_a,
        owner_b=owner_b,
        root=make_user("root", is_staff=True, is_superuser=True),
        customer=customer,
        first=first,
        second=second,
        theirs=theirs,
    )


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def review_url(design) -> str:
    return reverse("admin:personalization_linedesign_review", args=[design.pk])


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def links(content: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:href|src)="([^"]+)"', content)]


def state(design) -> str:
    design.refresh_from_db()
    return design.review_state


def test_the_index_links_the_queue_with_the_waiting_count(world):
    page = login(world.owner_a).get(reverse("admin:index")).content.decode()
    assert 'data-approval-waiting="2"' in page and f'href="{QUEUE}"' in page
    assert "<strong>2</strong> designs waiting for approval" in page
    assert 'data-approval-waiting="3"' in login(world.root).get(reverse("admin:index")).content.decode()


def test_the_queue_shows_the_owners_waiting_designs_oldest_first(world):
    approval.line_design_approve(design=world.second, user=world.root)
    third = ordered_design(brand=world.first.brand)
    response = login(world.owner_a).get(QUEUE)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["design"] for row in rows] == [world.first, third]
    content = response.content.decode()
    assert MARKER not in content.lower()
    number = world.first.order_line.order.number
    assert rows[0]["order_number"] == number and f"order {number}" in content
    assert world.first.order_line.product.name in content and "Acorn Goods" in content
    assert "73 / 100" in content  # the brand score, 72.5 rounded
    assert review_url(world.first) in content and review_url(world.second) not in content
    assert any(is_file_url(u, world.first.mockup) for u in links(content))

    everything = login(world.root).get(QUEUE).context["rows"]
    assert [row["design"] for row in everything] == [world.first, world.theirs, third]


def test_an_empty_queue_says_so(world):
    for design in (world.first, world.second):
        approval.line_design_reject(design=design, reason="No", user=world.owner_a)
    content = login(world.owner_a).get(QUEUE).content.decode()
    assert "Nothing is waiting for approval." in content
    assert login(world.owner_a).get(QUEUE, {"page": "not-a-number"}).status_code == 200


def test_the_list_has_a_review_column_filter_and_the_queue_link(world):
    approval.line_design_approve(design=world.second, user=world.owner_a)
    client = login(world.owner_a)
    changelist = reverse("admin:personalization_linedesign_changelist")
    response = client.get(changelist, {"review_state": "pending_review"})
    assert [d.pk for d in response.context["cl"].result_list] == [world.first.pk]
    content = response.content.decode()
    assert "Approval queue (1 waiting)" in content and f'href="{QUEUE}"' in content
    assert "Waiting for the shop&#x27;s approval" in content
    approved = client.get(changelist, {"review_state": "approved"}).context["cl"].result_list
    assert [d.pk for d in approved] == [world.second.pk]


def test_the_review_page_shows_everything_side_by_side(world):
    design = world.first
    client = login(world.owner_a)
    content = client.get(review_url(design)).content.decode()
    urls = links(content)
    assert any(is_file_url(u, design.image) for u in urls)
    assert any(is_file_url(u, design.mockup) for u in urls)
    assert "The print file is being made." in content
    assert "Print size" in content and "Resolution" in content  # the preflight
    assert "A lion on a hill" in content
    assert html.escape(design.optimized_prompt) in content and html.escape(design.negative_prompt) in content
    assert "72.5</strong> / 100" in content
    assert "held" in content and "policy: manual" in content
    assert 'name="reason"' in content and 'value="approve"' in content
    assert f"{html.escape(design.optimized_prompt)}</textarea>" in content  # prefilled
    assert 'http-equiv="refresh"' not in content

    design = line_design_render_print_file(design_id=design.pk)
    content = client.get(review_url(design)).content.decode()
    assert "being made" not in content
    assert any(is_file_url(u, design.print_file) for u in links(content))
    assert any(is_file_url(u, design.print_pdf) for u in links(content))


def test_approve_goes_on_to_the_next_design_then_back_to_the_queue(
    world, queued, django_capture_on_commit_callbacks
):
    client = login(world.owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(world.first), {"decision": "approve"})
    assert response.status_code == 302 and response["Location"] == review_url(world.second)
    assert f"Approved the design of order {world.first.order_line.order.number}." in flashed(response)
    assert state(world.first) == ReviewState.APPROVED and world.first.reviewed_by == world.owner_a
    assert ("print_file", world.first.pk) in queued

    response = client.post(review_url(world.second), {"decision": "approve"})
    assert response["Location"] == QUEUE
    assert state(world.theirs) == ReviewState.PENDING


def test_reject_needs_a_reason_then_keeps_it(world):
    client = login(world.owner_a)
    response = client.post(review_url(world.first), {"decision": "reject", "reason": "   "})
    assert response.status_code == 200
    assert "Say why this design is rejected" in response.content.decode()
    assert state(world.first) == ReviewState.PENDING

    response = client.post(review_url(world.first), {"decision": "reject", "reason": "The text is cut off."})
    assert response.status_code == 302 and response["Location"] == review_url(world.second)
    assert state(world.first) == ReviewState.REJECTED
    assert world.first.review_reason == "The text is cut off."
    content = client.get(review_url(world.first)).content.decode()
    assert "already been decided" in content and "The text is cut off." in content
    assert 'value="approve"' not in content


def test_a_second_decision_is_refused_with_a_message(world):
    client = login(world.owner_a)
    client.post(review_url(world.first), {"decision": "approve"})
    for data in ({"decision": "approve"}, {"decision": "reject", "reason": "late"}, {"decision": "x"}, {}):
        response = client.post(review_url(world.first), data)
        assert response.status_code == 302 and response["Location"] == review_url(world.first), data
        assert flashed(response), data
    assert state(world.first) == ReviewState.APPROVED and world.first.review_reason == ""
    response = client.post(review_url(world.first), {"decision": "approve"}, follow=True)
    assert "This design is not waiting for review." in response.content.decode()


def test_regenerate_shows_errors_then_runs_and_the_page_follows_it(
    world, queued, django_capture_on_commit_callbacks
):
    design, client = world.first, login(world.owner_a)
    for prompt, message in (("", "Write the prompt"), ("a skull on a hill", "skull"), ("x" * 1001, "1000")):
        response = client.post(review_url(design), {"decision": "regenerate", "prompt": prompt})
        assert response.status_code == 200, prompt
        assert message in response.content.decode(), prompt
    design.refresh_from_db()
    assert design.regeneration is None

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            review_url(design),
            {"decision": "regenerate", "prompt": "a lion on a hill, bold", "new_seed": "on"},
        )
    assert response.status_code == 302 and response["Location"] == review_url(design)
    design.refresh_from_db()
    generation = design.regeneration
    assert generation is not None and ("generation", generation.pk) in queued
    assert (
        generation.optimized_prompt == "a lion on a hill, bold" and design.description == "A lion on a hill"
    )

    content = client.get(review_url(design)).content.decode()
    assert "Waiting for the GPU worker." in content and 'http-equiv="refresh"' in content

    GenerationRequest.objects.filter(pk=generation.pk).update(
        status=GenerationRequest.Status.RUNNING, progress_step=2, progress_total=4
    )
    content = client.get(review_url(design)).content.decode()
    assert 'http-equiv="refresh"' in content and 'aria-valuenow="2"' in content
    assert "step 2 of 4" in content and "Regenerating with your prompt" in content
    assert "a lion on a hill, bold" in content  # the owner's edit
    assert 'value="approve"' not in content and 'value="regenerate"' not in content
    response = client.post(review_url(design), {"decision": "approve"})
    assert "still running" in " ".join(flashed(response))
    assert state(design) == ReviewState.PENDING

    GenerationRequest.objects.filter(pk=generation.pk).update(
        status=GenerationRequest.Status.FAILED, error_message="The worker was lost."
    )
    content = client.get(review_url(design)).content.decode()  # viewing settles it
    design.refresh_from_db()
    assert design.regeneration is None and design.review_log[-1]["action"] == "regeneration_failed"
    assert 'http-equiv="refresh"' not in content and "regeneration_failed" in content
    assert 'value="approve"' in content


def test_other_brands_staff_customers_and_view_only_staff_are_refused(world):
    a_design = world.first
    client = login(world.owner_b)
    assert client.get(review_url(a_design)).status_code == 404
    assert client.post(review_url(a_design), {"decision": "approve"}).status_code == 404
    assert client.post(review_url(a_design), {"decision": "reject", "reason": "x"}).status_code == 404
    assert [row["design"] for row in client.get(QUEUE).context["rows"]] == [world.theirs]
    assert state(a_design) == ReviewState.PENDING

    assert login(world.owner_a).get(review_url(world.theirs)).status_code == 404
    assert (
        login(world.owner_a).get(reverse("admin:personalization_linedesign_review", args=["x"])).status_code
        == 404
    )
    assert (
        login(world.owner_a)
        .get(reverse("admin:personalization_linedesign_review", args=[999999]))
        .status_code
        == 404
    )

    for user in (world.customer, None):
        anonymous = login(user) if user else Client()
        for response in (anonymous.get(QUEUE), anonymous.post(review_url(a_design), {"decision": "approve"})):
            assert response.status_code == 302 and "/login/" in response["Location"]
    assert state(a_design) == ReviewState.PENDING

    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_linedesign"))
    a_design.brand.owners.add(viewer)
    viewer_client = login(viewer)
    assert viewer_client.get(QUEUE).status_code == 403
    assert viewer_client.post(review_url(a_design), {"decision": "approve"}).status_code == 403
    assert "approval-queue-module" not in viewer_client.get(reverse("admin:index")).content.decode()
    assert state(a_design) == ReviewState.PENDING


def test_approve_and_reject_selected_from_the_list(world):
    client = login(world.owner_a)
    changelist = reverse("admin:personalization_linedesign_changelist")
    forged = [world.first.pk, world.theirs.pk]
    response = client.post(changelist, {"action": "approve_selected", "_selected_action": forged})
    assert response.status_code == 302
    assert state(world.first) == ReviewState.APPROVED and state(world.theirs) == ReviewState.PENDING

    selected = [world.first.pk, world.second.pk]
    response = client.post(changelist, {"action": "reject_selected", "_selected_action": selected})
    assert response.status_code == 200
    content = response.content.decode()
    assert "An owl at night" in content and "1 other selected design(s)" in content
    data = {"action": "reject_selected", "_selected_action": [world.second.pk], "apply": "yes"}
    response = client.post(changelist, {**data, "reason": ""})
    assert response.status_code == 200 and "Say why" in response.content.decode()
    assert state(world.second) == ReviewState.PENDING
    response = client.post(changelist, {**data, "reason": "Blurry eyes"})
    assert response.status_code == 302
    assert state(world.second) == ReviewState.REJECTED and world.second.review_reason == "Blurry eyes"
    assert state(world.first) == ReviewState.APPROVED

    response = client.post(changelist, {"action": "reject_selected", "_selected_action": [world.first.pk]})
    assert response.status_code == 302
    assert "None of the selected designs is waiting for review." in flashed(response)
