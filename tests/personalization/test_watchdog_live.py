"""The watchdog with a REAL `run_gpu_worker` (django-q2 cluster "gpu" on the test database): its
worker process beats; stopped with SIGSTOP, it goes silent, the watchdog kills its cluster and starts
another, whose new worker beats, and the health checks say so throughout."""

import contextlib
import os
import signal
import subprocess
import sys

import psutil
import pytest
from django.utils import timezone

from personalization import health
from personalization.models import WorkerHeartbeat
from tests.worker_fixtures import (
    MODEL_ENV,
    ROOT,
    database_url_for_workers,
    start_worker,
    stop_worker,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.worker, pytest.mark.one_setup, pytest.mark.django_db(transaction=True)]
State = WorkerHeartbeat.State


def _ours(proc: subprocess.Popen, *, state=None):
    """The heartbeat rows of the worker processes below ``proc`` (other tests' workers may beat too)."""
    try:
        pids = {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return []
    rows = WorkerHeartbeat.objects.filter(pid__in=pids)
    return list(rows if state is None else rows.filter(state=state))


def _ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_stopped_worker_is_restarted_and_a_new_one_beats(tiny_models, tmp_path, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WORKER_STALE_SECONDS": 4}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_for_workers(),
        **{MODEL_ENV[name]: str(path) for name, path in tiny_models.items()},
        "PERSONALIZATION_DEVICE": "cpu",
        "PERSONALIZATION_DTYPE": "float32",
        "PERSONALIZATION_WORKER_HEARTBEAT_SECONDS": "0.5",
        "PERSONALIZATION_WORKER_STALE_SECONDS": "4",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_gpu_worker", "--sweep-interval", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stopped = None
    try:
        [first] = wait_until(lambda: _ours(proc, state=State.IDLE), timeout=120, message="a heartbeat")
        assert health.check_workers(now=timezone.now()).status == health.OK

        os.kill(first.pid, signal.SIGSTOP)  # hung: stopped, not dead
        stopped = first.pid
        wait_until(
            lambda: WorkerHeartbeat.objects.filter(pk=first.pk, state=State.KILLED).exists(),
            timeout=60,
            message="the watchdog to kill the stopped worker's cluster",
        )
        # SIGKILL'd: gone, or a zombie once the kernel has torn it down (a while on a loaded machine,
        # where it still reads "running" as it exits).
        wait_until(lambda: _ended(first.pid), timeout=30, message=f"the stopped worker {first.pid} to end")
        [second] = wait_until(lambda: _ours(proc, state=State.IDLE), timeout=120, message="a new worker")
        assert second.pid != first.pid
        assert proc.poll() is None  # run_gpu_worker itself goes on
        output = log.read_text(errors="replace")
        assert f"watchdog: restarted the cluster of {first.worker}" in output
        assert health.check_workers(now=timezone.now()).status == health.OK
    finally:
        if stopped is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_terminated_worker_leaves_no_process_of_its_tree_alive(tiny_models, tmp_path):
    """run_gpu_worker TERM'd while a worker of its cluster is stopped (SIGSTOP: the cluster's own
    SIGTERM waits on it for ever): after WORKER_STOP_SECONDS it kills the whole tree and exits."""
    env = worker_env(
        database_url=database_url_for_workers(),
        tiny_models=tiny_models,
        base=tmp_path,
        PERSONALIZATION_WORKER_HEARTBEAT_SECONDS="0.5",
        PERSONALIZATION_WORKER_STOP_SECONDS="3",
        PERSONALIZATION_WORKER_WATCHDOG="false",  # the stopped worker is not restarted meanwhile
    )
    proc = start_worker(env, tmp_path / "worker.log")
    try:
        [worker] = wait_until(lambda: _ours(proc, state=State.IDLE), timeout=120, message="a heartbeat")
        tree = {child.pid: child for child in psutil.Process(proc.pid).children(recursive=True)}
        assert worker.pid in tree and len(tree) >= 3  # qcluster, its sentinel's helpers, the worker
        os.kill(worker.pid, signal.SIGSTOP)
        os.kill(proc.pid, signal.SIGTERM)  # run_gpu_worker alone, as a process manager would
        assert proc.wait(timeout=60) == 0
        alive = [
            pid
            for pid, process in tree.items()
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        ]
        assert alive == []
        output = (tmp_path / "worker.log").read_text(errors="replace")
        assert "did not end within 3 s: killed with" in output
    finally:
        stop_worker(proc)
