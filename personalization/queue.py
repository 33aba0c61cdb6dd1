"""The queue only wakes the worker: the database row is the source of truth.

An enqueue that fails (the broker is down) never fails the caller: the row is committed and stays
pending (a queued request, a design whose ``print_job_wake_at`` is set), and the sweeper wakes it
again (``lifecycle.sweep_expired_leases``, ``print_jobs.print_jobs_wake``)."""

import logging
import time
from datetime import timedelta

from .conf import conf

logger = logging.getLogger(__name__)

# One WARNING per burst of failed enqueues (the rest are logged at INFO with the row's id).
BURST_SECONDS = 60.0
_burst = {"until": 0.0, "missed": 0}
clock = time.monotonic  # a test moves it on instead of sleeping


def _enqueue(func: str, arg, *, task_name: str, group: str) -> bool:
    from django_q.tasks import async_task

    try:
        async_task(func, arg, cluster=conf.GPU_CLUSTER, task_name=task_name, group=group)
    except Exception as exc:
        now = clock()
        if now >= _burst["until"]:
            logger.warning(
                "the queue cannot be reached (%s: %s): %s is not queued, its row stays pending and the "
                "sweeper wakes it; further failures in the next %.0f s are logged at INFO (%s missed before)",
                type(exc).__name__,
                exc,
                task_name,
                BURST_SECONDS,
                _burst["missed"],
            )
            _burst.update(until=now + BURST_SECONDS, missed=0)
        else:
            logger.info("the queue cannot be reached: %s is not queued (%s)", task_name, type(exc).__name__)
        _burst["missed"] += 1
        return False
    return True


def enqueue_generation(request_id) -> bool:
    """Wake a worker for a queued request. False (logged) when the broker failed."""
    return _enqueue(
        "personalization.tasks.generation_run",
        str(request_id),
        task_name=f"generation-{request_id}",
        group="generation",
    )


def enqueue_print_file(design_id) -> bool:
    """Wake a worker for a design's print job. False (logged) when the broker failed."""
    return _enqueue(
        "personalization.tasks.print_file_render",
        design_id,
        task_name=f"print-file-{design_id}",
        group="print_file",
    )


def pending_task_names(names) -> set[str] | None:
    """Which of ``names`` still wait in the GPU cluster's queue: with django-q2's ORM broker, its
    OrmQ rows (undelivered, or delivered and not acknowledged); None with any other broker (Redis's
    list cannot be searched cheaply), and the caller relies on its backoff alone."""
    from django_q.conf import Conf

    if not Conf.ORM:
        return None
    from django_q.models import OrmQ

    wanted, found = set(names), set()
    if not wanted:
        return found
    for row in OrmQ.objects.using(Conf.ORM).filter(key=conf.GPU_CLUSTER).only("payload").iterator():
        try:
            name = row.name()
        except Exception:  # a payload signed with another key: not ours to judge
            continue
        if name in wanted:
            found.add(name)
    return found


def next_wake(*, now, waited: timedelta):
    """The time of the next wake-up of work that has waited ``waited``: the wait doubles (two
    leases at least, WAKE_MAX_SECONDS at most), so a request waiting W seconds gets about
    log2(WAKE_MAX_SECONDS / 2 leases) + W / WAKE_MAX_SECONDS wake-ups."""
    floor = timedelta(seconds=conf.LEASE_SECONDS * 2)
    cap = timedelta(seconds=max(conf.WAKE_MAX_SECONDS, conf.LEASE_SECONDS * 2))
    return now + min(cap, max(floor, waited))
