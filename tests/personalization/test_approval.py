"""The shop's approval of ordered designs (personalization.approval): the state the checkout gives,
approve (print file made again after the commit), reject with a reason, regenerate with the owner's
prompt (the real worker on the tiny pipeline puts the new picture in) and settling what ended."""

import io

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from brand_guides.models import Brand
from personalization import approval, worker
from personalization.lifecycle import generation_cancel
from personalization.models import EmailNotification, GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from personalization.services import generation_request_create
from tests.approval_helpers import make_manual_brand, ordered_design, place_order
from tests.factories import make_brand, make_product, make_user

pytestmark = pytest.mark.django_db
ReviewState = LineDesign.ReviewState
Status = GenerationRequest.Status


@pytest.fixture
def queued(monkeypatch):
    """What the services hand to the task queue: ("generation" | "print_file", id)."""
    calls = []
    monkeypatch.setattr(
        "personalization.queue.enqueue_generation", lambda pk: calls.append(("generation", pk))
    )
    monkeypatch.setattr(
        "personalization.queue.enqueue_print_file", lambda pk: calls.append(("print_file", pk))
    )
    return calls


@pytest.fixture
def owner():
    return make_user("owner", is_staff=True)


def actions(design: LineDesign) -> list[str]:
    design.refresh_from_db()
    return [entry["action"] for entry in design.review_log]


def pixels(field) -> np.ndarray:
    with field.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"), dtype=np.float32)


def test_checkout_holds_a_manual_brands_design_and_approves_an_automatic_one(queued):
    held = ordered_design(brand=make_manual_brand())
    passed = ordered_design(brand=make_brand(approval_policy=Brand.ApprovalPolicy.AUTOMATIC))

    assert held.review_state == ReviewState.PENDING and held.reviewed_at is None
    assert actions(held) == ["held"] and held.review_log[0]["policy"] == "manual"
    assert approval.fulfilment_refusal(held)
    assert passed.review_state == ReviewState.APPROVED and passed.reviewed_at is not None
    assert actions(passed) == ["approved"] and passed.review_log[0]["policy"] == "automatic"
    assert approval.fulfilment_refusal(passed) == ""
    assert list(approval.approval_queue()) == [held]
    assert approval.counts_by_state() == {"pending_review": 1, "approved": 1, "rejected": 0}


def test_the_queue_is_oldest_first_and_reads_a_given_queryset():
    brand = make_manual_brand()
    first, second = ordered_design(brand=brand), ordered_design(brand=brand)
    other = ordered_design()
    assert list(approval.approval_queue()) == [first, second, other]
    assert list(approval.approval_queue(LineDesign.objects.filter(brand=brand))) == [first, second]


def test_approve_remakes_the_print_file_after_the_commit_and_tells_the_customer(
    queued, owner, django_capture_on_commit_callbacks
):
    design = ordered_design(user=make_user("ada"))
    assert not design.print_file  # the checkout's print job has not run in this test

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        approval.line_design_approve(design=design, user=owner)
        assert queued == []  # nothing is queued before the commit
    assert ("print_file", design.pk) in queued and callbacks

    design.refresh_from_db()
    assert design.review_state == ReviewState.APPROVED
    assert design.reviewed_by == owner and design.reviewed_at is not None
    assert actions(design)[-1] == "approved" and design.review_log[-1]["by"] == "owner"
    assert approval.fulfilment_refusal(design) == ""
    assert EmailNotification.objects.filter(kind="line_approved", key=str(design.pk)).exists()

    rendered = line_design_render_print_file(design_id=design.pk)  # what the queued job runs
    assert rendered.print_file and rendered.print_pdf
    with rendered.print_file.open("rb") as fh:
        assert Image.open(fh).format == "PNG"


def test_reject_needs_a_reason_and_keeps_it_for_the_customer(queued, owner):
    design = ordered_design()
    for reason in ("", "   \n "):
        with pytest.raises(ValidationError) as error:
            approval.line_design_reject(design=design, reason=reason, user=owner)
        assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError):
        approval.line_design_reject(design=design, reason="x" * 1001, user=owner)
    design.refresh_from_db()
    assert design.review_state == ReviewState.PENDING

    approval.line_design_reject(design=design, reason="  The logo is\n cut off. ", user=owner)
    design.refresh_from_db()
    assert design.review_state == ReviewState.REJECTED
    assert design.review_reason == "The logo is cut off."
    assert approval.line_review(design)["reason"] == "The logo is cut off."
    assert design.review_log[-1] == {
        **design.review_log[-1],
        "action": "rejected",
        "reason": "The logo is cut off.",
    }
    assert approval.fulfilment_refusal(design)
    assert EmailNotification.objects.filter(kind="line_rejected", key=str(design.pk)).exists()
    assert ("print_file", design.pk) not in queued


def test_a_decided_design_cannot_be_decided_again(queued, owner):
    approved, rejected = ordered_design(), ordered_design()
    approval.line_design_approve(design=approved, user=owner)
    approval.line_design_reject(design=rejected, reason="Too dark", user=owner)

    for design in (approved, rejected):
        with pytest.raises(approval.NotPendingReview):
            approval.line_design_approve(design=design, user=owner)
        with pytest.raises(approval.NotPendingReview):
            approval.line_design_reject(design=design, reason="again", user=owner)
        with pytest.raises(approval.NotPendingReview):
            approval.line_design_regenerate(design=design, prompt="a lion", user=owner)
    approved.refresh_from_db()
    rejected.refresh_from_db()
    assert (approved.review_state, rejected.review_state) == (ReviewState.APPROVED, ReviewState.REJECTED)
    assert rejected.review_reason == "Too dark"
    assert actions(approved).count("approved") == 1


def test_regenerate_checks_the_owners_prompt(queued, owner):
    brand = make_manual_brand(banned_terms="skull")
    design = ordered_design(brand=brand)
    for prompt, message in (
        ("", "Write the prompt"),
        ("  ", "Write the prompt"),
        ("lion " * 250, "under 1000"),
        ("a grinning skull on a mountain", "skull"),
    ):
        with pytest.raises(ValidationError) as error:
            approval.line_design_regenerate(design=design, prompt=prompt, user=owner)
        assert message in " ".join(error.value.message_dict["prompt"])
    design.refresh_from_db()
    assert design.regeneration is None and actions(design) == ["held"]
    assert not GenerationRequest.objects.filter(customer=None, session_key="").exists()
    assert queued == []


def test_regenerate_queues_the_shops_request_after_the_commit(
    queued, owner, django_capture_on_commit_callbacks
):
    design = ordered_design(description="A lion on a hill")
    with django_capture_on_commit_callbacks(execute=True):
        generation = approval.line_design_regenerate(
            design=design, prompt="a golden lion on a green hill, flat print", user=owner
        )
    assert queued == [("generation", generation.pk)]
    assert generation.status == Status.QUEUED and generation.customer is None
    assert generation.description == "A lion on a hill"
    assert generation.optimized_prompt == "a golden lion on a green hill, flat print"
    assert generation.seed == design.seed and generation.variations == 1
    design.refresh_from_db()
    assert design.regeneration == generation
    assert design.owner_prompt == "a golden lion on a green hill, flat print"
    entry = design.review_log[-1]
    assert entry["action"] == "regenerate" and entry["by"] == "owner"
    assert entry["previous_prompt"] == design.optimized_prompt and entry["request"] == str(generation.pk)

    with pytest.raises(approval.NotPendingReview, match="already running"):
        approval.line_design_regenerate(design=design, prompt="another", user=owner)
    with pytest.raises(approval.NotPendingReview, match="still running"):
        approval.line_design_approve(design=design, user=owner)
    design.refresh_from_db()
    assert design.review_state == ReviewState.PENDING


def test_a_new_seed_is_drawn_when_asked(queued, owner):
    design = ordered_design()
    generation = approval.line_design_regenerate(design=design, prompt="a lion", user=owner, new_seed=True)
    design.refresh_from_db()
    assert design.review_log[-1]["seed"] == generation.seed
    assert 0 <= generation.seed < 2**32


@pytest.mark.parametrize("ending", ["failed", "cancelled"])
def test_a_regeneration_that_ends_without_a_picture_settles_as_failed(queued, owner, ending):
    design = ordered_design()
    image_name = design.image.name
    generation = approval.line_design_regenerate(design=design, prompt="a lion at dusk", user=owner)
    assert approval.line_regeneration_settle(design=design) == 0  # queued: left alone
    if ending == "cancelled":
        assert generation_cancel(request_id=generation.pk)
    else:
        GenerationRequest.objects.filter(pk=generation.pk).update(
            status=Status.FAILED, error_message="The GPU ran out of memory."
        )

    assert approval.line_regeneration_settle(design=design) == 1
    design.refresh_from_db()
    assert design.regeneration is None and design.image.name == image_name
    assert design.review_state == ReviewState.PENDING
    entry = design.review_log[-1]
    assert entry["action"] == "regeneration_failed" and entry["request"] == str(generation.pk)
    expected = "out of memory" if ending == "failed" else "Cancelled"
    assert expected in entry["message"]
    approval.line_design_approve(design=design, user=owner)  # the owner may decide again
    assert approval.line_regeneration_settle() == 0


def test_reject_while_regenerating_cancels_the_regeneration(queued, owner):
    design = ordered_design()
    generation = approval.line_design_regenerate(design=design, prompt="a lion", user=owner)
    approval.line_design_reject(design=design, reason="Not our style", user=owner)
    design.refresh_from_db()
    generation.refresh_from_db()
    assert design.review_state == ReviewState.REJECTED and design.regeneration is None
    assert generation.status == Status.CANCELLED


def test_regenerated_by_the_worker_replaces_the_design_and_keeps_the_customers_words(
    tiny_model, queued, owner, django_capture_on_commit_callbacks
):
    """Generated and regenerated for real: the tiny pipeline in this process (worker.run)."""
    brand = make_manual_brand()
    product = make_product(brand=brand)
    customer = make_user("ada")
    made = generation_request_create(
        product=product,
        customer=customer,
        base_color="White",
        description="Geometric wolf head made of triangles",
        steps=3,
        size=64,
        seed=11,
    )
    worker.run(made.pk)
    made.refresh_from_db()
    assert made.status == Status.SUCCEEDED
    order = place_order(made.images.get(), user=customer)
    design = LineDesign.objects.get(order_line__order=order)
    before = {
        "image": pixels(design.image),
        "mockup": pixels(design.mockup),
        "prompt": design.optimized_prompt,
    }

    with django_capture_on_commit_callbacks(execute=True):
        generation = approval.line_design_regenerate(
            design=design, prompt="a wolf head of blue triangles, flat vector", user=owner, new_seed=True
        )
    assert ("generation", generation.pk) in queued
    worker.run(generation.pk)  # the worker settles right after it succeeds
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED

    design.refresh_from_db()
    assert design.regeneration is None and design.review_state == ReviewState.PENDING
    assert design.source_image == generation.images.get()
    assert design.seed == generation.seed
    assert design.optimized_prompt == "a wolf head of blue triangles, flat vector" != before["prompt"]
    assert design.description == "Geometric wolf head made of triangles"
    assert not np.array_equal(pixels(design.image), before["image"])
    assert not np.array_equal(pixels(design.mockup), before["mockup"])
    assert design.recipe["seed"] == generation.seed
    assert actions(design)[-2:] == ["regenerate", "regenerated"]
    assert design.review_log[-2]["prompt"] == "a wolf head of blue triangles, flat vector"
    assert design.review_log[-2]["previous_prompt"] == before["prompt"]
    assert design.owner_prompt == "a wolf head of blue triangles, flat vector"
    assert approval.line_regeneration_settle(design=design) == 0  # nothing left to settle

    approval.line_design_approve(design=design, user=owner)
    design = line_design_render_print_file(design_id=design.pk)
    assert design.review_state == ReviewState.APPROVED and design.print_file
