"""A GPU worker process's start, and the task timeout it must fit in.

When django-q2 spawns a worker process of the GPU cluster (its ``post_spawn`` signal, connected in
``PersonalizationConfig.ready`` after the heartbeat's), the process loads the default preset, runs
its warm-up shapes and loads the output safety check (``worker.warm_start``) before it reads its
first task, and records how long that took on its heartbeat row (``WorkerHeartbeat.load_seconds``).
django-q2's task timeout starts with a task, so it never counts loading.

A timeout shorter than loading would still kill every task that loads another preset, and the
process after it (which then loads again): ``run_gpu_worker`` refuses to start below
``task_timeout_floor()``, the larger of MIN_TASK_TIMEOUT_SECONDS and the newest measured load time
x TASK_TIMEOUT_LOAD_MARGIN. No torch here: the worker module is imported inside the spawned process.
"""

import logging
import socket

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from .conf import conf
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def on_worker_spawn(sender, proc_name=None, **kwargs) -> None:
    """django-q2's ``post_spawn`` (in each new worker process): load and warm up a GPU cluster's
    worker before it takes a task, and record the seconds on its heartbeat row."""
    from django_q.conf import Conf

    if Conf.CLUSTER_NAME != conf.GPU_CLUSTER:
        return
    from . import heartbeat
    from .worker import warm_start

    try:
        seconds = warm_start()
    except Exception:  # a process that dies here would be spawned, and die, again and again
        logger.exception("the GPU worker's start-up load failed; its first task loads instead")
        return
    if seconds is not None:
        heartbeat.set_load_seconds(seconds)


def gpu_task_timeout() -> int | None:
    """django-q2's task timeout of the GPU cluster in seconds (its ``ALT_CLUSTERS`` entry, else
    ``Q_CLUSTER``'s own); None: no timeout."""
    q_cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    cluster = (q_cluster.get("ALT_CLUSTERS") or {}).get(conf.GPU_CLUSTER, {})
    return cluster.get("timeout", q_cluster.get("timeout"))


def measured_load_seconds(*, host: str | None = None) -> float | None:
    """The newest load time a GPU worker recorded on ``host`` (None: this machine), else on any host;
    None when no worker has recorded one (heartbeat rows are kept a day after their process)."""
    rows = WorkerHeartbeat.objects.filter(load_seconds__isnull=False).order_by("-started_at")
    try:
        for scoped in (rows.filter(host=host or socket.gethostname()), rows):
            seconds = scoped.values_list("load_seconds", flat=True).first()
            if seconds is not None:
                return seconds
    except DatabaseError as exc:  # not migrated yet: only the configured minimum applies
        logger.warning("the measured load time cannot be read: %s", exc)
    return None


def task_timeout_floor(*, host: str | None = None) -> float:
    """The shortest GPU task timeout ``run_gpu_worker`` accepts."""
    floor = float(conf.MIN_TASK_TIMEOUT_SECONDS)
    if (measured := measured_load_seconds(host=host)) is not None:
        floor = max(floor, measured * float(conf.TASK_TIMEOUT_LOAD_MARGIN))
    return floor


def check_task_timeout(*, host: str | None = None) -> None:
    """Raise ImproperlyConfigured when the GPU cluster's task timeout is below ``task_timeout_floor``."""
    timeout = gpu_task_timeout()
    if timeout is None or timeout < 0:  # no timeout: nothing is killed
        return
    floor = task_timeout_floor(host=host)
    if timeout >= floor:
        return
    measured = measured_load_seconds(host=host)
    why = f"PERSONALIZATION['MIN_TASK_TIMEOUT_SECONDS'] is {conf.MIN_TASK_TIMEOUT_SECONDS}"
    if measured is not None:
        why += (
            f"; the last load and warm-up took {measured:.0f} s, x TASK_TIMEOUT_LOAD_MARGIN "
            f"{conf.TASK_TIMEOUT_LOAD_MARGIN}"
        )
    raise ImproperlyConfigured(
        f"Q_CLUSTER['ALT_CLUSTERS'][{conf.GPU_CLUSTER!r}]['timeout'] is {timeout} s, below the "
        f"{floor:.0f} s a GPU task needs ({why}): a task that loads a model would be killed again and "
        "again. Raise the timeout (PERSONALIZATION_TASK_TIMEOUT in this project's settings) and keep "
        "django-q2's 'retry' above it."
    )
