"""Owed print jobs, the web and sweeper side (no torch: the job itself is ``print_jobs``).

A design's print job is owed while its ``print_job_wake_at`` is set (``owed_fields()``, in the same
write as the order's line, the approval or the owner's retry, which wake a worker after the commit);
the job clears it when the files are stored. A wake-up lost with a broker that was down is sent again
by the sweeper (``print_jobs_wake``), one pending per design at most, backing off like a queued
request. A job that fails is tried again at most PRINT_MAX_ATTEMPTS times in all, then the design's
print file is failed (``print_jobs``); the owner starts it afresh with ``line_design_print_retry``.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .conf import conf
from .models import LineDesign

logger = logging.getLogger(__name__)


def first_wake():
    """When the sweeper first wakes a print job owed now, if no worker has made its files by then."""
    return timezone.now() + timedelta(seconds=conf.LEASE_SECONDS * 2)


def owed_fields() -> dict:
    """The fields that make a design's print job owed afresh: woken at ``first_wake()``, no tries
    yet, no failure."""
    return {
        "print_job_wake_at": first_wake(),
        "print_job_attempts": 0,
        "print_job_error_code": "",
        "print_job_error_message": "",
        "print_job_failed_at": None,
    }


# A design's print file, as the admin lists and filters it.
PRINT_STATES = {"ready": "Ready", "pending": "Being made", "failed": "Failed"}


def print_state(design: LineDesign) -> str:
    """The print file's state: "failed" (its job was given up), "ready" (a file stored, no job owed)
    or "pending"."""
    if design.print_job_failed_at is not None:
        return "failed"
    return "ready" if design.print_file and design.print_job_wake_at is None else "pending"


def with_print_state(queryset, state: str):
    """The designs of ``queryset`` whose ``print_state`` is ``state`` (one of PRINT_STATES)."""
    if state == "failed":
        return queryset.filter(print_job_failed_at__isnull=False)
    if state == "ready":
        return queryset.filter(print_job_failed_at__isnull=True, print_job_wake_at__isnull=True).exclude(
            print_file=""
        )
    return queryset.filter(print_job_failed_at__isnull=True).filter(
        Q(print_job_wake_at__isnull=False) | Q(print_file="")
    )


class NotPrintFailed(ValueError):
    """The design's print file has not failed: there is nothing to retry."""


def line_design_print_retry(*, design: LineDesign) -> LineDesign:
    """The owner's retry of a failed print file: the job is owed afresh (PRINT_MAX_ATTEMPTS more
    tries) and a worker is woken after the commit. ``NotPrintFailed`` unless it had failed."""
    from .queue import enqueue_print_file

    if not LineDesign.objects.filter(pk=design.pk, print_job_failed_at__isnull=False).update(**owed_fields()):
        raise NotPrintFailed("This design's print file has not failed.")
    design.refresh_from_db()
    logger.info("print file of design %s: retried by the shop", design.pk)
    transaction.on_commit(lambda: enqueue_print_file(design.pk))
    return design


def print_jobs_wake(*, now=None, limit: int = 100) -> int:
    """Wake the owed print jobs whose wake-up time has passed (their message was lost, or their job
    failed): one message each, none while one still waits in the queue (ORM broker), the next
    wake-up backed off like a queued request's (``queue.next_wake``). Returns how many were woken."""
    from .queue import enqueue_print_file, next_wake, pending_task_names

    now = now or timezone.now()
    due = list(
        LineDesign.objects.filter(print_job_wake_at__lt=now)
        .order_by("print_job_wake_at")
        .values_list("pk", "print_job_wake_at", "created_at")[:limit]
    )
    pending = pending_task_names(f"print-file-{pk}" for pk, _, _ in due) or set()
    woken = []
    for pk, wake_at, created_at in due:
        moved = LineDesign.objects.filter(pk=pk, print_job_wake_at=wake_at).update(
            print_job_wake_at=next_wake(now=now, waited=now - created_at)
        )
        if moved and f"print-file-{pk}" not in pending:
            woken.append(pk)
    for pk in woken:
        enqueue_print_file(pk)
    if woken:
        logger.info("sweep: %s print job(s) woken again", len(woken))
    return len(woken)
