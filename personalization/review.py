"""Held for review: a request whose words or picture need a person's look before the customer sees
the images (a protected name with the "hold for review" outcome, a mark read in the picture).

The request runs and finishes as usual; while ``review_state`` is ``pending_review`` its images are
shown to nobody but the brand's staff, and it cannot be ordered. Staff approve (the customer sees
the images) or reject (the request ends ``rejected`` with the reason).

    "" --hold--> pending_review --approve--> approved
                               \\--reject---> rejected (status rejected, code review_rejected)
"""

import logging

from django.db.models import Q
from django.utils import timezone

from .models import GenerationRequest

logger = logging.getLogger(__name__)

ReviewState = GenerationRequest.ReviewState
Status = GenerationRequest.Status

HELD_MESSAGE = "A person at the shop checks this design before you can see it."


class ReviewNotPending(Exception):
    """Only a request held for review can be approved or rejected."""


def images_visible_q(prefix: str = "") -> Q:
    """Rows whose images the customer may see: not held, or approved."""
    return Q(**{f"{prefix}review_state__in": [ReviewState.NONE, ReviewState.APPROVED]})


def images_visible(generation: GenerationRequest) -> bool:
    """Whether the customer may see this request's images and preview (``images_visible_q``'s rule)."""
    return generation.review_state in (ReviewState.NONE, ReviewState.APPROVED)


def order_refusal(generation: GenerationRequest) -> str:
    """Why the review state keeps this design out of a cart or an order ("" when it does not)."""
    if generation.review_state == ReviewState.PENDING:
        return (
            "A person at the shop checks this design before you can see or order it. "
            "You can add it to your cart once it is approved."
        )
    if generation.review_state == ReviewState.REJECTED:
        return "The shop did not approve this design after review, so it cannot be ordered."
    return ""


def generation_hold_for_review(*, request_id, reason: str) -> bool:
    """Hold a request (reasons add up); an approved or rejected request is not held again. One
    conditional UPDATE, so a hold and a staff decision never overwrite each other."""
    reasons = GenerationRequest.objects.filter(pk=request_id).values_list("review_reason", flat=True).first()
    joined = "\n".join(dict.fromkeys(r for r in (reasons, reason) if r))
    return bool(
        GenerationRequest.objects.filter(
            pk=request_id, review_state__in=[ReviewState.NONE, ReviewState.PENDING]
        ).update(review_state=ReviewState.PENDING, review_reason=joined)
    )


def generation_review_approve(*, generation: GenerationRequest) -> GenerationRequest:
    """The customer sees the images; the blurred live preview becomes a sharp thumbnail of them."""
    from .conf import conf
    from .postprocess import store_checked_preview

    # Only a finished design: approving one not drawn yet would wave through what the output check
    # later reads in the picture.
    updated = GenerationRequest.objects.filter(
        pk=generation.pk, review_state=ReviewState.PENDING, status=Status.SUCCEEDED
    ).update(review_state=ReviewState.APPROVED)
    generation.refresh_from_db()
    if not updated:
        if generation.review_state == ReviewState.PENDING:
            raise ReviewNotPending("This design is still being made: approve it once it has finished.")
        raise ReviewNotPending("This design is not waiting for review.")
    first = generation.images.order_by("index").first()
    if first is not None:
        from PIL import Image

        with first.image.open("rb") as fh:
            picture = Image.open(fh, formats=["PNG"])
            picture.load()
        store_checked_preview(generation, picture, size=conf.PREVIEW_SIZE)
        generation.refresh_from_db()
    _tell_customer(generation)
    return generation


def generation_review_reject(*, generation: GenerationRequest, reason: str) -> GenerationRequest:
    reason = " ".join((reason or "").split()) or "The shop could not accept this design."
    updated = GenerationRequest.objects.filter(pk=generation.pk, review_state=ReviewState.PENDING).update(
        review_state=ReviewState.REJECTED,
        review_reason=reason,
        status=Status.REJECTED,
        error_code="review_rejected",
        error_message=reason,
        finished_at=timezone.now(),
    )
    generation.refresh_from_db()
    if not updated:
        raise ReviewNotPending("This design is not waiting for review.")
    _tell_customer(generation)
    return generation


def _tell_customer(generation: GenerationRequest) -> None:
    """The review outcome by email (queued after the commit; a failure to record it is only logged:
    the decision stands)."""
    from .emails import review_outcome_queue

    try:
        review_outcome_queue(generation=generation)
    except Exception:
        logger.exception("request %s: the review outcome email could not be recorded", generation.pk)
