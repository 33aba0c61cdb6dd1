"""Owed print jobs, the web and sweeper side (no torch: the job itself is ``print_jobs``).

A design's print job is owed while its ``print_job_wake_at`` is set (to ``first_wake()``, in the same
write as the order's line or the approval, which wake a worker after the commit); the job clears it
when the files are stored. A wake-up lost with a broker that was down is sent again by
the sweeper (``print_jobs_wake``), one pending per design at most, backing off like a queued request.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from .conf import conf
from .models import LineDesign

logger = logging.getLogger(__name__)


def first_wake():
    """When the sweeper first wakes a print job owed now, if no worker has made its files by then."""
    return timezone.now() + timedelta(seconds=conf.LEASE_SECONDS * 2)


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
