"""The GPU cluster's watchdog: ``run_gpu_worker`` restarts a cluster of its own whose worker process
has a heartbeat (``WorkerHeartbeat``) older than WORKER_STALE_SECONDS.

django-q2's sentinel only ends a worker whose task ran past the cluster's ``timeout`` (900 s), and its
SIGTERM waits for a stopped (SIGSTOP) process to be continued. Killing just the worker is not safe
either: an idle django-q2 worker blocks in ``task_queue.get()`` holding the queue's read lock, and a
process killed there leaves the lock taken, so the worker the sentinel starts next would wait on it
for ever. So the whole cluster (qcluster, its sentinel, pusher, monitor and workers) is killed with
SIGKILL, which ends stopped and wedged processes at once, and started again. The sweeper requeues the
request the worker held when its lease ends (an attempt counted, as for any lost worker); a task
message lost with the cluster's in-memory queue is redelivered by the broker or re-woken by the
sweeper (the row is the truth).

Only rows of this host whose pid descends from the cluster, in a process that started no later than
the row, are acted on: a row of another host, another supervisor, or a pid since reused is ignored.
"""

import logging
import os
import signal
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from .conf import conf
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def stale_workers(*, host: str, now: datetime | None = None):
    """The rows of ``host`` not seen for WORKER_STALE_SECONDS and not already killed."""
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(
        host=host, last_seen__lt=now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    ).exclude(state=WorkerHeartbeat.State.KILLED)


def descendants(root: int) -> dict[int, float]:
    """{pid: its start time (Unix seconds)} of every live process below ``root`` (a cluster: its
    sentinel, pusher, monitor and workers); zombies are left out."""
    import psutil

    found = {}
    try:
        children = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        try:
            # A zombie is dead, only not reaped yet: django-q2 terminates a worker that ran past its
            # task timeout without joining it. Its heartbeat is stale, and its cluster is healthy.
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            found[child.pid] = child.create_time()
        except psutil.NoSuchProcess:
            continue
    return found


def find_stale(
    *, host: str, processes: dict[int, float], now: datetime | None = None
) -> list[WorkerHeartbeat]:
    """The stale workers of ``host`` that are among ``processes`` ({pid: start time}, a cluster's
    ``descendants``); ``now`` is the test's clock."""
    found = []
    for row in stale_workers(host=host, now=now):
        created = processes.get(row.pid)
        if created is not None and created <= row.started_at.timestamp() + 1:
            found.append(row)
    return found


def kill_tree(root: int, pids: Iterable[int], *, kill: Callable[[int, int], None] = os.kill) -> None:
    """SIGKILL ``root`` first (so it starts nothing more), then ``pids`` (its descendants)."""
    kill_pids([root, *pids], kill=kill)


def kill_pids(pids: Iterable[int], *, kill: Callable[[int, int], None] = os.kill) -> None:
    """SIGKILL each of ``pids``; one already gone is skipped."""
    for pid in pids:
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def still_running(processes: dict[int, float]) -> list[int]:
    """The pids of ``processes`` ({pid: start time}, a ``descendants`` snapshot) that still run as
    the same process (a pid since reused by another process, or an exited one, is left out)."""
    import psutil

    alive = []
    for pid, created in processes.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def mark_killed(rows: Iterable[WorkerHeartbeat], *, now: datetime | None = None) -> None:
    """Log each killed worker (CRITICAL: an alert) and mark its row; a new process beats afresh."""
    now = now or timezone.now()
    for row in rows:
        logger.critical(
            "watchdog: GPU worker %s (%s) had no heartbeat for %.0f s (WORKER_STALE_SECONDS %s): its "
            "cluster was killed and started again; the sweeper requeues its request when the lease ends",
            row.worker,
            row.state,
            (now - row.last_seen).total_seconds(),
            conf.WORKER_STALE_SECONDS,
        )
        WorkerHeartbeat.objects.filter(pk=row.pk, last_seen=row.last_seen).update(
            state=WorkerHeartbeat.State.KILLED
        )
