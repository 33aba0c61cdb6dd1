"""The reconciliation: what the rows and the storage say that should never last. Every count is zero
in a healthy shop; ``manage.py personalization_reconcile`` exits 1 otherwise (the check the fault
injection suite runs after each fault, docs/WORKER.md "Failure modes").

- ``running_stuck``: running requests whose lease expired more than ``stuck_after`` seconds ago (the
  sweeper requeues or fails them within one sweep interval: none means no sweeper is running);
- ``queued_stuck``: requests queued for more than ``stuck_after`` seconds since submit;
- ``run_twice``: requests claimed more than MAX_ATTEMPTS times, or with more stored variations than
  they asked for (a task delivered twice must be claimed once: ``lifecycle.generation_claim``);
- ``orphan_files``: stored customer files that no row references, older than ORPHAN_GRACE_SECONDS
  (``personalization.orphans``; ``orphans_older_than`` overrides the grace: 0 counts every one);
- ``line_files_missing``: ordered designs whose design or mockup file is gone from the storage;
- ``print_files_failed``: ordered designs whose print job was given up after PRINT_MAX_ATTEMPTS tries
  (``personalization.print_jobs``): the shop retries them in the admin (Line designs, "print file"
  filter "Failed", action "Retry failed print files").
"""

from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from . import orphans
from .conf import conf
from .models import GenerationRequest, LineDesign
from .storage import private_storage

Status = GenerationRequest.Status


def reconcile(
    *, now=None, stuck_after: float | None = None, orphans_older_than: float | None = None
) -> dict[str, int]:
    """The counts above; ``stuck_after`` None: QUEUE_AGE_FAIL_SECONDS; ``orphans_older_than`` None:
    ORPHAN_GRACE_SECONDS."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=conf.QUEUE_AGE_FAIL_SECONDS if stuck_after is None else stuck_after)
    return {
        "running_stuck": GenerationRequest.objects.filter(
            status=Status.RUNNING, lease_expires_at__lt=stuck
        ).count(),
        "queued_stuck": GenerationRequest.objects.filter(status=Status.QUEUED, created_at__lt=stuck).count(),
        "run_twice": len(requests_run_twice()),
        "orphan_files": len(orphans.orphan_files(now=now, older_than=orphans_older_than)),
        "line_files_missing": len(line_designs_missing_files()),
        "print_files_failed": LineDesign.objects.filter(print_job_failed_at__isnull=False).count(),
    }


def requests_run_twice() -> list:
    """The ids of requests claimed more often than MAX_ATTEMPTS allows, or holding more variations
    (or a variation index) than they asked for."""
    return list(
        GenerationRequest.objects.annotate(stored=Count("images"))
        .filter(
            Q(attempts__gt=conf.MAX_ATTEMPTS)
            | Q(stored__gt=F("variations"))
            | Q(images__index__gte=F("variations"))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def line_designs_missing_files() -> list[int]:
    """The ids of ordered designs whose design or mockup file the storage does not have. One walk of
    the storage's folders; a name outside them (an older layout) is asked about on its own."""
    stored = set(orphans.stored_names())
    roots = tuple(f"{root}/" for root in orphans.ROOTS)
    missing = []
    for pk, *names in LineDesign.objects.order_by("pk").values_list("pk", "image", "mockup").iterator():
        for name in filter(None, names):
            if (name not in stored) if name.startswith(roots) else not private_storage.exists(name):
                missing.append(pk)
                break
    return missing
