"""The shop's approval of ordered designs before they are printed (the brand's approval policy).

Every frozen order-line design (``LineDesign``) has a review state:

    checkout --automatic policy--> approved                      (print file made, fulfilment may go)
             --manual policy-----> pending_review --approve----> approved  (print file made again)
                                                  --reject-----> rejected  (with the reason)
                                                  --regenerate-> pending_review, regeneration running
                                                       (worker) -> its first image replaces the design

Nothing goes to fulfilment unless it is approved (``fulfilment_refusal``). The customer sees the state
and the reason on the order page and in the API, and gets an email when it is approved or rejected.

A regeneration keeps the customer's words (``description``) and records the owner's prompt edit in
``review_log``; it runs as a request of its own (no customer: it is the shop's), with the design's
product, colour, brand, size and recipe, the owner's prompt and, unless asked otherwise, the same
seed. When it has succeeded, ``line_regeneration_settle`` swaps its first image into the line design
(the mockup drawn again from the frozen composition; the size, and so the preflight, is the same; the
old print files are dropped); the state stays ``pending_review`` so the owner approves what is now
there. The worker settles at once on success; the approval page and the periodic sweep settle anything
left (a failed or lost regeneration).
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .models import GenerationRequest, LineDesign

logger = logging.getLogger(__name__)

ReviewState = LineDesign.ReviewState
Status = GenerationRequest.Status

PROMPT_MAX_LENGTH = 1000

MESSAGES = {
    ReviewState.PENDING: "A person at the shop checks this design before it is printed.",
    ReviewState.APPROVED: "Approved for printing.",
    ReviewState.REJECTED: "The shop did not approve this design for printing.",
}


class NotPendingReview(Exception):
    """Only a design waiting for review can be approved, rejected or regenerated."""


def _user_label(user) -> str:
    if user is None:
        return ""
    return user.get_username() if hasattr(user, "get_username") else str(user)


def _log_entry(action: str, user, **extra) -> dict:
    return {"at": timezone.now().isoformat(), "by": _user_label(user), "action": action, **extra}


def _append_log(design_id, entry: dict) -> None:
    """Append one entry to ``review_log`` under a row lock (two owners never lose each other's)."""
    with transaction.atomic():
        design = LineDesign.objects.select_for_update().only("pk", "review_log").get(pk=design_id)
        LineDesign.objects.filter(pk=design_id).update(review_log=[*(design.review_log or []), entry])


# --- at checkout ---------------------------------------------------------------------------------


def initial_review(brand) -> dict:
    """The review fields of a design frozen at checkout: waiting under the manual policy, approved
    (by the policy, nobody in particular) under the automatic one."""
    from brand_guides.models import Brand

    if brand is not None and brand.approval_policy == Brand.ApprovalPolicy.MANUAL:
        return {
            "review_state": ReviewState.PENDING,
            "review_log": [_log_entry("held", None, policy="manual")],
        }
    return {
        "review_state": ReviewState.APPROVED,
        "reviewed_at": timezone.now(),
        "review_log": [_log_entry("approved", None, policy="automatic")],
    }


# --- what the customer and fulfilment see --------------------------------------------------------


def line_review(design: LineDesign) -> dict:
    """The review as the customer sees it: ``state`` (``pending_review``, ``approved``, ``rejected``),
    ``label``, ``message``, ``reason`` (rejected only) and ``reviewed_at``."""
    state = design.review_state
    return {
        "state": state,
        "label": ReviewState(state).label if state in ReviewState.values else state,
        "message": MESSAGES.get(state, ""),
        "reason": design.review_reason if state == ReviewState.REJECTED else "",
        "reviewed_at": design.reviewed_at,
    }


def fulfilment_refusal(design: LineDesign) -> str:
    """Why this design may not go to fulfilment ("" when it may)."""
    if design.review_state == ReviewState.APPROVED:
        return ""
    if design.review_state == ReviewState.REJECTED:
        return "This design was rejected in review and is not printed."
    return "This design is waiting for the shop's approval and is not printed before it is approved."


def approval_queue(queryset=None):
    """The designs waiting for a decision, oldest order first."""
    rows = LineDesign.objects.all() if queryset is None else queryset
    return rows.filter(review_state=ReviewState.PENDING).order_by("created_at", "pk")


# --- decisions -----------------------------------------------------------------------------------


def line_design_approve(*, design: LineDesign, user=None) -> LineDesign:
    """Pending -> approved; the print file is made again from the design as it is now (after the
    commit, by the worker), and the customer is told. A design whose regeneration is still running
    cannot be approved (the owner would approve a picture about to be replaced)."""
    from .print_queue import owed_fields

    line_regeneration_settle(design=design)
    updated = LineDesign.objects.filter(
        pk=design.pk, review_state=ReviewState.PENDING, regeneration__isnull=True
    ).update(
        review_state=ReviewState.APPROVED,
        review_reason="",
        reviewed_at=timezone.now(),
        reviewed_by=user,
        **owed_fields(),  # the print job is owed (afresh) until its files are stored
    )
    design.refresh_from_db()
    if not updated:
        if design.review_state == ReviewState.PENDING:
            raise NotPendingReview("Its regeneration is still running: approve it once the new design is in.")
        raise NotPendingReview("This design is not waiting for review.")
    _append_log(design.pk, _log_entry("approved", user))
    from .queue import enqueue_print_file

    transaction.on_commit(lambda: enqueue_print_file(design.pk))
    _tell_customer(design)
    design.refresh_from_db()
    return design


def line_design_reject(*, design: LineDesign, reason: str, user=None) -> LineDesign:
    """Pending -> rejected with a reason the customer reads (required)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Say why: the customer reads it."})
    if len(reason) > 1000:
        raise ValidationError({"reason": "Keep the reason under 1000 characters."})
    updated = LineDesign.objects.filter(pk=design.pk, review_state=ReviewState.PENDING).update(
        review_state=ReviewState.REJECTED,
        review_reason=reason,
        reviewed_at=timezone.now(),
        reviewed_by=user,
    )
    design.refresh_from_db()
    if not updated:
        raise NotPendingReview("This design is not waiting for review.")
    _append_log(design.pk, _log_entry("rejected", user, reason=reason))
    if design.regeneration_id:
        from .lifecycle import generation_cancel

        generation_cancel(request_id=design.regeneration_id)
        LineDesign.objects.filter(pk=design.pk).update(regeneration=None)
    _tell_customer(design)
    design.refresh_from_db()
    return design


def _check_prompt(prompt: str, *, brand) -> str:
    """The owner's prompt: not empty, not too long, and within the same content policy as the
    customer's words (a banned term or another company's mark is refused, held names too)."""
    from .policy import check_for_brand

    prompt = " ".join((prompt or "").split())
    if not prompt:
        raise ValidationError({"prompt": "Write the prompt to generate with."})
    if len(prompt) > PROMPT_MAX_LENGTH:
        raise ValidationError({"prompt": f"Keep the prompt under {PROMPT_MAX_LENGTH} characters."})
    violations = check_for_brand(brand=brand, texts={"prompt": prompt})
    if violations:
        raise ValidationError({"prompt": " ".join(dict.fromkeys(v.message for v in violations))})
    return prompt


def line_design_regenerate(
    *, design: LineDesign, prompt: str, user=None, new_seed: bool = False
) -> GenerationRequest:
    """Start a regeneration of a waiting design with the owner's prompt (the customer's words are
    kept in ``description``; the edit is recorded). Returns the new request (queued)."""
    from .queue import enqueue_generation

    if design.review_state != ReviewState.PENDING:
        raise NotPendingReview("This design is not waiting for review.")
    if design.regeneration_id:
        raise NotPendingReview("A regeneration of this design is already running.")
    source = design.source_image.request if design.source_image_id else None
    if source is None:
        raise ValidationError(
            {"prompt": "The request this design came from is gone, so it cannot be made again."}
        )
    prompt = _check_prompt(prompt, brand=source.brand)
    seed = random.randrange(0, 2**32) if new_seed else design.seed
    with transaction.atomic():
        locked = LineDesign.objects.select_for_update().get(pk=design.pk)
        if locked.review_state != ReviewState.PENDING or locked.regeneration_id:
            raise NotPendingReview("This design changed meanwhile: reload the page.")
        generation = GenerationRequest.objects.create(
            customer=None,
            session_key="",
            product_id=source.product_id,
            brand_id=source.brand_id,
            base_color_name=design.base_color_name,
            base_color_hex=design.base_color_hex,
            material_id=source.material_id,
            style_id=source.style_id,
            description=design.description,
            reference_image=source.reference_image.name if source.reference_image else "",
            reference_sha256=source.reference_sha256,
            reference_fit=source.reference_fit,
            transparent_background=source.transparent_background,
            strength=source.strength,
            preset=design.preset,
            steps=design.steps,
            guidance_scale=design.guidance_scale,
            seed=seed,
            variations=1,
            width=design.width,
            height=design.height,
            model_name=source.model_name,
            scheduler_name=source.scheduler_name,
            optimized_prompt=prompt,
            negative_prompt=design.negative_prompt,
        )
        entry = _log_entry(
            "regenerate",
            user,
            prompt=prompt,
            previous_prompt=locked.optimized_prompt,
            seed=seed,
            request=str(generation.pk),
        )
        LineDesign.objects.filter(pk=design.pk).update(
            regeneration=generation, review_log=[*(locked.review_log or []), entry]
        )
        transaction.on_commit(lambda: enqueue_generation(generation.pk))
    design.refresh_from_db()
    return generation


def line_regeneration_settle(*, design: LineDesign | None = None, request_id=None) -> int:
    """Settle finished regenerations (of ``design``, of the request ``request_id``, or all): the first
    image of a succeeded one replaces the design; a failed, rejected or cancelled one is cleared and
    logged. Returns how many designs changed. Running ones are left alone."""
    rows = LineDesign.objects.filter(regeneration__isnull=False).select_related("regeneration")
    if design is not None:
        rows = rows.filter(pk=design.pk)
    if request_id is not None:
        rows = rows.filter(regeneration_id=request_id)
    changed = 0
    for line in rows:
        generation = line.regeneration
        if generation.status not in GenerationRequest.TERMINAL:
            continue
        try:
            if generation.status == Status.SUCCEEDED and _swap_in(line, generation):
                changed += 1
                continue
        except Exception:
            logger.exception("line design %s: the regenerated design could not be put in", line.pk)
        message = generation.error_message or generation.get_status_display()
        cleared = LineDesign.objects.filter(pk=line.pk, regeneration=generation).update(regeneration=None)
        if cleared:
            _append_log(
                line.pk, _log_entry("regeneration_failed", None, request=str(generation.pk), message=message)
            )
            changed += 1
    if design is not None:
        design.refresh_from_db()
    return changed


def _swap_in(line: LineDesign, generation: GenerationRequest) -> bool:
    """The regenerated picture into the frozen line design, with its mockup drawn again from the
    frozen composition (logo and font as frozen at checkout)."""
    from PIL import Image

    from .conditioning import artwork_spec_frozen
    from .postprocess import render_mockup
    from .services import _png
    from .text_layers import TextLayer

    image = generation.images.order_by("index").first()
    if image is None:
        return False
    with image.image.open("rb") as fh:
        picture = Image.open(fh, formats=["PNG"])
        picture.load()
    picture = picture.convert("RGB")
    spec = artwork_spec_frozen(line)
    text = spec.text if isinstance(spec.text, TextLayer) else None
    mockup = render_mockup(picture, generation, text=text, spec=spec)
    with transaction.atomic():
        locked = LineDesign.objects.select_for_update().get(pk=line.pk)
        if locked.regeneration_id != generation.pk or locked.review_state != ReviewState.PENDING:
            return False
        old_files = [locked.image.name, locked.mockup.name]
        png = ContentFile(_png(picture))
        locked.image.save("design.png", png, save=False)
        locked.mockup.save("mockup.png", ContentFile(_png(mockup)), save=False)
        locked.source_image = image
        locked.seed = image.seed
        locked.optimized_prompt = generation.optimized_prompt
        locked.brand_consistency = image.brand_consistency
        locked.model_name = generation.model_name or locked.model_name
        locked.scheduler_name = generation.scheduler_name or locked.scheduler_name
        locked.recipe = replace(generation.recipe, seed=image.seed, variations=1).as_dict()
        locked.regeneration = None
        # The print files showed the old picture: none until approval makes them again (fulfilment
        # reads ``print_file_pending`` meanwhile, never the old picture).
        locked.print_file = ""
        locked.print_pdf = ""
        locked.print_warnings = []
        locked.review_log = [
            *(locked.review_log or []),
            _log_entry("regenerated", None, request=str(generation.pk), seed=image.seed),
        ]
        locked.save()
    storage = locked.image.storage
    for name in old_files:
        if name and name not in (locked.image.name, locked.mockup.name):
            transaction.on_commit(lambda name=name: storage.delete(name))
    return True


def _tell_customer(design: LineDesign) -> None:
    """The decision by email (after the commit; a failure to record it is logged, the decision stands)."""
    from .emails import line_review_outcome_queue

    try:
        line_review_outcome_queue(design=design)
    except Exception:
        logger.exception("line design %s: the review outcome email could not be recorded", design.pk)


def counts_by_state(queryset=None) -> dict[str, int]:
    """How many designs are in each review state (the admin index, the dashboard)."""
    from django.db.models import Count

    rows = LineDesign.objects.all() if queryset is None else queryset
    found = dict(rows.order_by().values_list("review_state").annotate(n=Count("pk")))
    return {state: found.get(state, 0) for state in ReviewState.values}


__all__ = [
    "NotPendingReview",
    "approval_queue",
    "counts_by_state",
    "fulfilment_refusal",
    "initial_review",
    "line_design_approve",
    "line_design_regenerate",
    "line_design_reject",
    "line_regeneration_settle",
    "line_review",
]
