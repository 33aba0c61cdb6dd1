"""The request state machine: claim, heartbeat, finish, fail, cancel, sweep.

Every transition is a compare-and-set UPDATE on the row's status, so a task delivered twice, a
cancel racing a worker, or two workers racing for a row all resolve in the database. A failure on
the shop's side (``REFUNDED_CODES``) gives back the daily quota the request was charged, once.

    queued --claim--> running --succeed--> succeeded
      |  ^               |  \\--fail------> failed
      |  |               |   \\-cancel----> cancelled (by the worker, after cancel_requested)
      |  |               |   \\-reject----> rejected (unsafe output, text in the picture)
      |  \\---sweep (lease expired, attempts left)   (no attempts left: failed "worker_lost")
      |  \\---release (the worker stops gracefully: the attempt is given back)
      \\--cancel (the customer)--> cancelled

The customer's cancel (``generation_cancel``) cancels a queued request at once and only sets
``cancel_requested`` on a running one.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import limits
from .conf import conf
from .models import GenerationRequest

logger = logging.getLogger(__name__)
Status = GenerationRequest.Status
Phase = GenerationRequest.Phase


def _lease_until():
    return timezone.now() + timedelta(seconds=conf.LEASE_SECONDS)


def generation_claim(*, request_id, worker: str) -> GenerationRequest | None:
    """Queued -> running, attempts counted at claim time. None when someone else has it."""
    now = timezone.now()
    claimed = GenerationRequest.objects.filter(
        pk=request_id, status=Status.QUEUED, cancel_requested=False
    ).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=conf.LEASE_SECONDS),
        worker=worker,
        started_at=now,
        progress_step=0,
        phase=Phase.GENERATING,
    )
    if not claimed:
        return None
    return GenerationRequest.objects.select_related("brand", "product", "material", "style").get(
        pk=request_id
    )


def generation_claim_next(*, worker: str) -> GenerationRequest | None:
    """Claim the oldest queued request (a wake-up whose own row was already taken helps the queue)."""
    for pk in (
        GenerationRequest.objects.filter(status=Status.QUEUED, cancel_requested=False)
        .order_by("created_at")
        .values_list("pk", flat=True)[:5]
    ):
        claimed = generation_claim(request_id=pk, worker=worker)
        if claimed is not None:
            return claimed
    return None


# What the rows of one batch share (one pipeline call), besides their brand's LoRA and no reference.
BATCH_FIELDS = ("preset", "model_name", "width", "height", "steps", "guidance_scale")
# The oldest compatible rows a batch is filled from.
BATCH_CANDIDATES = 32


def batch_key(req: GenerationRequest) -> tuple | None:
    """What ``req`` must share with the rows it runs with (dynamic batching): the same model preset
    and weights (one pipeline), size, steps and guidance, and the same LoRA (and scale). None: it
    runs alone (a reference image). ``req.brand`` is read."""
    return batch_key_of(
        fields=tuple(getattr(req, name) for name in BATCH_FIELDS),
        has_reference=bool(req.reference_image or req.reference_sha256),
        lora=req.brand.lora_weights.name or "",
        lora_scale=req.brand.lora_scale,
    )


def batch_key_of(*, fields: tuple, has_reference: bool, lora: str, lora_scale: float) -> tuple | None:
    """``batch_key`` from the values of BATCH_FIELDS (in that order) and the brand's LoRA."""
    if has_reference:
        return None
    return (*fields, lora, lora_scale if lora else None)


def _fill(first, candidates, *, limit_images: int, key=batch_key) -> list:
    """The candidates (oldest first) that join ``first``'s batch: those of its batch key, until the
    next one would pass ``limit_images`` images."""
    first_key = key(first)
    if first_key is None or limit_images <= first.variations:
        return []
    chosen, images = [], first.variations
    for candidate in candidates:
        if key(candidate) != first_key:
            continue
        if images + candidate.variations > limit_images:
            break
        chosen.append(candidate)
        images += candidate.variations
    return chosen


def compatible_waiting(*, first: GenerationRequest, limit_images: int) -> list:
    """Queued requests that can share first's pipeline call (dynamic batching), oldest first
    (``batch_key``)."""
    if batch_key(first) is None or limit_images <= first.variations:
        return []
    candidates = (
        GenerationRequest.objects.filter(
            status=Status.QUEUED,
            cancel_requested=False,
            reference_sha256="",
            **{name: getattr(first, name) for name in BATCH_FIELDS},
        )
        .exclude(pk=first.pk)
        .select_related("brand")
        .order_by("created_at")[:BATCH_CANDIDATES]
    )
    return [candidate.pk for candidate in _fill(first, candidates, limit_images=limit_images)]


def batch_plan(queued: list, *, limit_images: int, key=batch_key) -> list[list]:
    """The batches the workers will run ``queued`` in, as they take them: the oldest row, filled
    with its compatible rows (``compatible_waiting``), then the oldest row left, and so on.
    ``queued``: oldest first, each with ``pk`` and ``variations``; ``key`` gives an item's batch key
    (``batch_key`` for requests with their brands). ``eta`` reads the queue's order from it."""
    groups: dict[tuple, list] = {}
    for item in queued:
        if (item_key := key(item)) is not None:
            groups.setdefault(item_key, []).append(item)
    taken: set = set()
    plan = []
    for first in queued:
        if first.pk in taken:
            continue
        taken.add(first.pk)
        first_key = key(first)
        group = groups.get(first_key, []) if first_key is not None else []
        candidates = [item for item in group if item.pk not in taken][:BATCH_CANDIDATES]
        batch = [first, *_fill(first, candidates, limit_images=limit_images, key=key)]
        taken.update(item.pk for item in batch)
        if first_key is not None:  # what is left of the group: the next batch looks at no taken row
            groups[first_key] = [item for item in group if item.pk not in taken]
        plan.append(batch)
    return plan


def generation_heartbeat(*, request_ids, worker: str, step: int | None = None, preview_names=None) -> set:
    """Extend the leases and record progress; returns the ids whose cancel was requested."""
    preview_names = preview_names or {}
    until = _lease_until()
    rows = GenerationRequest.objects.filter(pk__in=request_ids, status=Status.RUNNING, worker=worker)
    for request_id in request_ids:
        fields = {"lease_expires_at": until}
        if step is not None:
            fields["progress_step"] = step
        if request_id in preview_names:
            fields["preview"] = preview_names[request_id]
        rows.filter(pk=request_id).update(**fields)
    return set(
        GenerationRequest.objects.filter(pk__in=request_ids)
        .filter(Q(cancel_requested=True) | ~Q(status=Status.RUNNING) | ~Q(worker=worker))
        .values_list("pk", flat=True)
    )


def generation_phase(*, request_ids, worker: str, phase: str, step: int | None = None) -> int:
    """Record where the worker is with running requests (one UPDATE; ``step`` restarts the step
    count, e.g. 0 for a re-seed). Finished rows keep the phase they ended in."""
    fields = {"phase": phase} | ({"progress_step": step} if step is not None else {})
    return GenerationRequest.objects.filter(pk__in=request_ids, status=Status.RUNNING, worker=worker).update(
        **fields
    )


def generation_succeed(
    *, request_id, worker: str, work_seconds: float | None = None, gpu_seconds: float | None = None
) -> bool:
    """Running -> succeeded; ``work_seconds`` and ``gpu_seconds``, what the request cost the worker,
    feed the measured throughput (personalization.eta)."""
    now = timezone.now()
    return bool(
        GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING, worker=worker).update(
            status=Status.SUCCEEDED,
            finished_at=now,
            progress_step=F("progress_total"),
            lease_expires_at=None,
            error_code="",
            error_message="",
            work_seconds=work_seconds,
            gpu_seconds=gpu_seconds,
        )
    )


# Failures on the shop's side: the customer gets the quota the request was charged back. A cancel
# by the customer, a policy rejection or an unsafe output keep counting.
REFUNDED_CODES = frozenset(
    {
        "gpu_oom",
        "worker_lost",
        "generation_error",
        "postprocess_error",
        "brand_adapter_error",
        "safety_unavailable",
        "model_unavailable",
        "input_missing",  # the shop's storage lost the customer's reference picture
        "storage_error",  # the pictures were made but could not be stored
    }
)


def _refunded(charges: list) -> list:
    return [{**charge, "refunded": True} for charge in charges]


def _give_back(charges: list) -> None:
    """Return the units of ``charges`` not refunded yet (a request retried by staff after a refunded
    failure keeps its refunded charges: a second failure gives nothing back twice)."""
    limits.give_back(
        charges=[limits.Charge.from_json(charge) for charge in charges if not charge.get("refunded")]
    )


def generation_fail(*, request_id, worker: str | None, code: str, message: str) -> bool:
    """Running -> failed. For the shop's failures (``REFUNDED_CODES``) the quota charges are given
    back in the same transaction; the status compare-and-set makes that happen at most once."""
    rows = GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING)
    if worker is not None:
        rows = rows.filter(worker=worker)
    fields = {
        "status": Status.FAILED,
        "finished_at": timezone.now(),
        "lease_expires_at": None,
        "error_code": code,
        "error_message": message,
    }
    with transaction.atomic():
        charges = []
        if code in REFUNDED_CODES:
            charges = rows.values_list("quota_charges", flat=True).first() or []
            fields["quota_charges"] = _refunded(charges)
        failed = bool(rows.update(**fields))
        if failed:
            _give_back(charges)
    return failed


def generation_reject(*, request_id, worker: str, code: str, message: str) -> bool:
    """Running -> rejected: the output broke the content policy (``unsafe_output``, ``text_in_design``).
    The customer's request caused it, so it keeps counting against the quota (no refund)."""
    return bool(
        GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING, worker=worker).update(
            status=Status.REJECTED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            error_code=code,
            error_message=message,
        )
    )


def generation_cancel(*, request_id) -> bool:
    """The customer's cancel: a queued request is cancelled at once; a running one gets
    ``cancel_requested`` (its worker stops within one step and calls ``generation_mark_cancelled``).
    False when the request is already finished (nothing changed)."""
    if GenerationRequest.objects.filter(pk=request_id, status=Status.QUEUED).update(
        status=Status.CANCELLED,
        finished_at=timezone.now(),
        error_code="cancelled",
        error_message="Cancelled by the customer.",
    ):
        return True
    return bool(
        GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING).update(cancel_requested=True)
    )


def generation_mark_cancelled(*, request_id, worker: str) -> bool:
    return bool(
        GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING, worker=worker).update(
            status=Status.CANCELLED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            error_code="cancelled",
            error_message="Cancelled by the customer.",
        )
    )


def generation_release(*, request_id, worker: str) -> bool:
    """Running -> queued for a worker that stops gracefully (SIGTERM) before finishing: the lease
    is released and the attempt its claim counted is given back, so a deploy never uses up a
    request's attempts. The row waits for the next worker (woken by the caller, or the sweep)."""
    return bool(
        GenerationRequest.objects.filter(
            pk=request_id, status=Status.RUNNING, worker=worker, attempts__gt=0
        ).update(
            status=Status.QUEUED,
            attempts=F("attempts") - 1,
            lease_expires_at=None,
            worker="",
            progress_step=0,
            started_at=None,
            phase=Phase.QUEUED,
        )
    )


def sweep_expired_leases(*, now=None) -> dict:
    """Requeue rows whose worker died (lease expired) or fail them after MAX_ATTEMPTS; re-wake
    queued rows that waited long (a lost queue message). Returns counts."""
    from .queue import enqueue_generation, next_wake

    now = now or timezone.now()
    expired = GenerationRequest.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
    failed = 0
    for row in expired.filter(attempts__gte=conf.MAX_ATTEMPTS).only("pk", "attempts", "quota_charges"):
        with transaction.atomic():
            lost = GenerationRequest.objects.filter(
                pk=row.pk, status=Status.RUNNING, lease_expires_at__lt=now
            ).update(
                status=Status.FAILED,
                finished_at=now,
                lease_expires_at=None,
                error_code="worker_lost",
                error_message=(
                    f"The image worker stopped {row.attempts} times while making this design, so we gave up. "
                    "Try a simpler description or fewer variations, or contact the shop."
                ),
                quota_charges=_refunded(row.quota_charges),
            )
            if lost:
                _give_back(row.quota_charges)  # the shop's failure: the quota is given back
        failed += lost
    requeued_ids = []
    for row in expired.filter(attempts__lt=conf.MAX_ATTEMPTS).only("pk", "created_at"):
        # Woken below; lease_expires_at is then the time of its next wake-up (not at every sweep).
        if GenerationRequest.objects.filter(
            pk=row.pk, status=Status.RUNNING, lease_expires_at__lt=now
        ).update(
            status=Status.QUEUED,
            lease_expires_at=next_wake(now=now, waited=now - row.created_at),
            worker="",
            progress_step=0,
            phase=Phase.QUEUED,
        ):
            requeued_ids.append(row.pk)
    rewoken = _rewake_waiting(now=now, skip=set(requeued_ids))
    for pk in requeued_ids:
        enqueue_generation(pk)
    limits.purge_expired(at=now)  # usage counters of windows that have ended
    if failed or requeued_ids:
        logger.warning(
            "sweep: %s requeued, %s failed after %s attempts", len(requeued_ids), failed, conf.MAX_ATTEMPTS
        )
    return {"requeued": len(requeued_ids), "failed": failed, "rewoken": len(rewoken)}


def _rewake_waiting(*, now, skip: set) -> list:
    """Queued rows nobody picked up for a while: their queue message may be lost (a broker that was
    down, a flushed Redis); the row is the truth. A queued row's ``lease_expires_at`` is the time of
    its next wake-up, which backs off (``queue.next_wake``: the wait doubles, two leases to
    WAKE_MAX_SECONDS), and a row whose wake-up still waits in the queue (ORM broker) is not woken
    again: one pending wake-up per request at most, and logarithmically many messages in all."""
    from .queue import enqueue_generation, next_wake, pending_task_names

    stale = list(
        GenerationRequest.objects.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
            status=Status.QUEUED,
            created_at__lt=now - timedelta(seconds=conf.LEASE_SECONDS * 2),
        )
        .exclude(pk__in=skip)
        .order_by("created_at")
        .values_list("pk", "created_at")[:100]
    )
    pending = pending_task_names(f"generation-{pk}" for pk, _ in stale) or set()
    rewoken = []
    for pk, created_at in stale:
        moved = GenerationRequest.objects.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now), pk=pk, status=Status.QUEUED
        ).update(lease_expires_at=next_wake(now=now, waited=now - created_at))
        if moved and f"generation-{pk}" not in pending:
            rewoken.append(pk)
    for pk in rewoken:
        enqueue_generation(pk)
    return rewoken
