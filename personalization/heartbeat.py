"""The GPU worker processes' heartbeats (``WorkerHeartbeat`` rows): written, read by the watchdog and
the health checks.

Each worker process of the GPU cluster starts a ``HeartbeatThread`` when django-q2 spawns it
(``post_spawn``, connected in ``PersonalizationConfig.ready``). The thread beats whether the process
is idle (blocked on django-q2's task queue) or busy, so a stale row means the whole process stopped
running Python: SIGSTOP, a C call that holds the interpreter, or death. ``worker.run`` marks the
row busy while a task runs. A lease keeps a request; this row keeps the process.
"""

import contextlib
import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.db import connections
from django.utils import timezone

from .conf import conf
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)
State = WorkerHeartbeat.State
# Rows of processes not seen for this long are deleted (run_gpu_worker calls ``heartbeats_prune``).
RETENTION = timedelta(days=1)


def worker_heartbeat_beat(
    *,
    worker: str,
    host: str,
    pid: int,
    started_at: datetime,
    state: str | None = None,
    load_seconds: float | None = None,
    now=None,
) -> WorkerHeartbeat:
    """Record that ``worker`` is alive at ``now``; ``state`` None keeps the row's state (a new row
    starts idle), ``load_seconds`` None keeps the measured load time. A row the watchdog marked
    killed that beats again is a new process with the same name (a reused pid): it starts afresh."""
    now = now or timezone.now()
    fields = {"host": host, "pid": pid, "started_at": started_at, "last_seen": now}
    if state is not None:
        fields["state"] = state
    if load_seconds is not None:
        fields["load_seconds"] = load_seconds
    if not WorkerHeartbeat.objects.filter(worker=worker).exclude(state=State.KILLED).update(**fields):
        row = WorkerHeartbeat(worker=worker, **{"state": State.IDLE, **fields})
        row.full_clean(validate_unique=False)
        WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"state": row.state, **fields})
    return WorkerHeartbeat.objects.get(worker=worker)


def heartbeats_prune(*, now=None) -> int:
    """Delete the rows of processes not seen for ``RETENTION``; returns how many."""
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen__lt=(now or timezone.now()) - RETENTION).delete()
    return deleted


class HeartbeatThread:
    """Beats for this process every WORKER_HEARTBEAT_SECONDS until ``stop()``; ``state`` is what the
    next beat writes (``worker.run`` sets it, and beats at once, around each task)."""

    def __init__(self, *, worker: str, host: str, pid: int, started_at: datetime, stop_event=None):
        self.worker, self.host, self.pid, self.started_at = worker, host, pid, started_at
        self.state = State.IDLE
        self.load_seconds: float | None = None  # set once the process has loaded (worker.warm_start)
        self._stop = stop_event or threading.Event()
        self._thread = threading.Thread(target=self.run, name="worker-heartbeat", daemon=True)

    def start(self) -> "HeartbeatThread":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def beat(self) -> None:
        worker_heartbeat_beat(
            worker=self.worker,
            host=self.host,
            pid=self.pid,
            started_at=self.started_at,
            state=self.state,
            load_seconds=self.load_seconds,
        )

    def run(self) -> None:
        try:
            while True:
                try:
                    self.beat()
                except Exception:  # a database hiccup: the next beat tries again
                    logger.exception("worker heartbeat of %s failed", self.worker)
                if self._stop.wait(max(0.1, float(conf.WORKER_HEARTBEAT_SECONDS))):
                    return
        finally:
            connections.close_all()  # this thread's own connections


_current: HeartbeatThread | None = None


def start_for_this_process() -> HeartbeatThread:
    """Start this process's heartbeat (once); ``worker.worker_name()`` names it."""
    global _current
    if _current is None or _current.pid != os.getpid():  # a forked child starts its own
        host, pid = socket.gethostname(), os.getpid()
        _current = HeartbeatThread(
            worker=f"{host}:{pid}", host=host, pid=pid, started_at=timezone.now()
        ).start()
    return _current


def set_state(state: str) -> None:
    """This process's state (busy while a task runs), written at once; nothing without a heartbeat
    (a task run outside the GPU cluster, e.g. in a test)."""
    current = _current
    if current is None or current.pid != os.getpid():
        return
    current.state = state
    try:
        current.beat()
    except Exception:  # the thread's next beat writes it
        logger.exception("worker heartbeat of %s failed", current.worker)


@contextlib.contextmanager
def busy():
    """This process says busy while the block runs (a generation batch, a print file), idle after."""
    set_state(State.BUSY)
    try:
        yield
    finally:
        set_state(State.IDLE)


def set_load_seconds(seconds: float) -> None:
    """What loading took in this process (``worker.warm_start``), written at once; nothing without a
    heartbeat."""
    current = _current
    if current is None or current.pid != os.getpid():
        return
    current.load_seconds = seconds
    try:
        current.beat()
    except Exception:  # the thread's next beat writes it
        logger.exception("worker heartbeat of %s failed", current.worker)


def on_worker_spawn(sender, proc_name=None, **kwargs) -> None:
    """django-q2's ``post_spawn`` (in each new worker process): beat for the GPU cluster's workers."""
    from django_q.conf import Conf

    if Conf.CLUSTER_NAME == conf.GPU_CLUSTER:
        start_for_this_process()
