"""The GPU cluster's watchdog (``personalization.watchdog`` and ``run_gpu_worker``'s tick): a cluster
whose worker has a stale heartbeat is killed, stopped (SIGSTOP) processes included, and started again.
The clock is the test's; the processes are real."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

import psutil
import pytest
from django.utils import timezone

from personalization import watchdog
from personalization.management.commands.run_gpu_worker import Command
from personalization.models import WorkerHeartbeat
from tests.worker_fixtures import wait_until

pytestmark = pytest.mark.django_db
State = WorkerHeartbeat.State
HOST = socket.gethostname()
NOW = timezone.now().replace(microsecond=0)

# A stand-in for a qcluster: a process with one child (the "worker"), whose pid it prints.
CLUSTER = (
    "import subprocess, sys\n"
    "child = subprocess.Popen(\n"
    "    [sys.executable, '-c', 'import sys; sys.stdin.read()'], stdin=subprocess.PIPE\n"
    ")\n"
    "print(child.pid, flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def stale_after_60(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "WORKER_STALE_SECONDS": 60,
        "WORKER_WATCHDOG": True,
    }


def _row(
    pid: int, *, seen_ago: float, host: str = HOST, state=State.BUSY, started_at=None
) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        worker=f"{host}:{pid}",
        host=host,
        pid=pid,
        state=state,
        started_at=started_at or NOW - timedelta(hours=1),
        last_seen=NOW - timedelta(seconds=seen_ago),
    )


def test_only_stale_workers_of_this_cluster_in_their_own_process_are_found(stale_after_60):
    started = (NOW - timedelta(hours=2)).timestamp()  # each process started before its row
    ours = {101: started, 102: started, 103: started, 105: started, 106: NOW.timestamp()}
    _row(101, seen_ago=61)  # stale
    _row(102, seen_ago=59)  # fresh
    _row(103, seen_ago=3600, state=State.KILLED)  # already acted on
    _row(104, seen_ago=61)  # not a process of this cluster
    _row(105, seen_ago=61, host="other-host")  # another machine's pid
    _row(106, seen_ago=61)  # pid 106 was reused by a process newer than the row
    assert [row.pid for row in watchdog.find_stale(host=HOST, processes=ours, now=NOW)] == [101]
    assert [
        row.pid for row in watchdog.find_stale(host=HOST, processes=ours, now=NOW - timedelta(seconds=2))
    ] == []


@pytest.fixture
def cluster():
    """A real process tree (a cluster and its worker); the worker's pid; both ended afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    worker_pid = int(proc.stdout.readline())
    proc.cluster_env = {"Q_CLUSTER_NAME": "gpu", "CUDA_VISIBLE_DEVICES": "3"}
    yield proc, worker_pid
    for pid in (worker_pid, proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_stopped_worker_gets_its_cluster_killed_and_started_again(stale_after_60, cluster):
    proc, worker_pid = cluster
    os.kill(worker_pid, signal.SIGSTOP)  # a hung worker: stopped, not dead
    wait_until(lambda: psutil.Process(worker_pid).status() == psutil.STATUS_STOPPED, timeout=10)
    row = _row(worker_pid, seen_ago=0, started_at=timezone.now())
    command, spawned = Command(), []
    command.spawn = lambda env: spawned.append(env) or "a new cluster"
    seen = row.last_seen

    # Within WORKER_STALE_SECONDS of its last beat: left alone.
    assert command.watch(proc, now=seen + timedelta(seconds=59)) is proc
    assert proc.poll() is None and not spawned

    # Past it: the whole tree is killed (SIGKILL ends a stopped process) and the cluster started again.
    children = [proc]
    command.tick(children, now=seen + timedelta(seconds=61))
    assert children == ["a new cluster"]
    assert spawned == [{"Q_CLUSTER_NAME": "gpu", "CUDA_VISIBLE_DEVICES": "3"}]
    assert proc.wait(timeout=10) == -signal.SIGKILL
    wait_until(lambda: _gone(worker_pid), timeout=10, message="the stopped worker to end")
    row.refresh_from_db()
    assert row.state == State.KILLED


def test_with_the_watchdog_off_nothing_is_killed(settings, cluster):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WORKER_WATCHDOG": False}
    proc, worker_pid = cluster
    row = _row(worker_pid, seen_ago=0, started_at=timezone.now())
    children = [proc]
    Command().tick(children, now=row.last_seen + timedelta(hours=1))
    assert children == [proc] and proc.poll() is None
    row.refresh_from_db()
    assert row.state == State.BUSY


def test_a_dead_worker_not_yet_reaped_is_not_a_stale_worker_of_its_cluster(stale_after_60):
    """Found by the fault suite (``task_timeout``): django-q2 terminates a worker that ran past its
    task timeout without joining it, so the process stays a zombie below the cluster with a stale
    heartbeat; the watchdog then killed the whole (healthy) cluster, its running tasks with it."""
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not waited for: a zombie
    try:
        wait_until(lambda: psutil.Process(dead.pid).status() == psutil.STATUS_ZOMBIE, message="a zombie")
        tree = watchdog.descendants(os.getpid())
        assert alive.pid in tree and dead.pid not in tree
        _row(dead.pid, seen_ago=120, state=State.IDLE, started_at=NOW - timedelta(days=1))
        assert watchdog.find_stale(host=HOST, processes=tree, now=NOW) == []
    finally:
        alive.communicate(timeout=10)
        dead.wait(timeout=10)
