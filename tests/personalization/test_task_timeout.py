"""A task timeout shorter than loading (issue 14): loading and warm-up happen when django-q2 spawns
a GPU worker process, before its first task; a task killed by the timeout while a model loads has
counted its attempt and ends failed (``worker_lost``) after MAX_ATTEMPTS kills instead of staying
queued; and ``run_gpu_worker`` refuses a timeout below what loading takes. On a fake clock."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.exceptions import TimeoutException

from personalization import heartbeat, lifecycle, startup, worker
from personalization.models import GenerationRequest, WorkerHeartbeat
from personalization.services import generation_request_create
from tests.factories import make_product

Status = GenerationRequest.Status


def gpu_timeout(settings, seconds) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"gpu": {"timeout": seconds}}}


@pytest.mark.django_db
def test_a_task_killed_by_the_timeout_while_loading_ends_failed_after_max_attempts(
    tiny_model, settings, monkeypatch
):
    """The timeout (django-q2 raises TimeoutException, a SystemExit, in the task) hits while the
    request's preset loads: before the fix the load ran before the claim, so the row stayed queued
    with no attempt counted and was woken, and killed, for ever."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_CHECK": False}
    product = make_product()
    req = generation_request_create(
        product=product,
        session_key="visitor-timeout",
        base_color="White",
        description="Wolf",
        steps=3,
        size=64,
    )
    monkeypatch.setattr(worker, "warm_start", lambda: None)  # spawned: loaded before any task

    def killed_while_loading(preset_name=None):
        raise TimeoutException("Task exceeded maximum timeout value (60 seconds)")

    monkeypatch.setattr(worker, "ensure_loaded", killed_while_loading)
    monkeypatch.setattr(worker, "_preloaded", set())
    now = timezone.now()
    lease = timedelta(seconds=settings.PERSONALIZATION["LEASE_SECONDS"])
    for attempt in range(1, settings.PERSONALIZATION["MAX_ATTEMPTS"] + 1):
        with pytest.raises(TimeoutException):
            worker.run(req.pk)  # the process dies with it: nothing renews the lease after this
        req.refresh_from_db()
        assert (req.status, req.attempts) == (Status.RUNNING, attempt)
        now = req.lease_expires_at + timedelta(seconds=1)
        counts = lifecycle.sweep_expired_leases(now=now)
        req.refresh_from_db()
        if attempt < settings.PERSONALIZATION["MAX_ATTEMPTS"]:
            assert counts["requeued"] == 1 and req.status == Status.QUEUED
            now += lease
    assert req.status == Status.FAILED and req.error_code == "worker_lost"
    assert all(charge.get("refunded") for charge in req.quota_charges)


@pytest.mark.django_db
def test_the_gpu_worker_loads_when_spawned_and_records_how_long(monkeypatch, settings):
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    thread = heartbeat.HeartbeatThread(
        worker="gpu-1:7", host="gpu-1", pid=7, started_at=timezone.now(), stop_event=None
    )
    monkeypatch.setattr(heartbeat, "_current", thread)
    monkeypatch.setattr(heartbeat.os, "getpid", lambda: 7)
    monkeypatch.setattr(heartbeat, "start_for_this_process", lambda: thread)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", "gpu")
    loaded = []
    monkeypatch.setattr(worker, "warm_start", lambda: loaded.append("loaded") or 42.5)
    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert loaded == ["loaded"]
    assert WorkerHeartbeat.objects.get(worker="gpu-1:7").load_seconds == 42.5
    assert startup.measured_load_seconds(host="gpu-1") == 42.5


def test_the_web_clusters_workers_load_nothing(monkeypatch):
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    monkeypatch.setattr(Conf, "CLUSTER_NAME", "web")
    monkeypatch.setattr(worker, "warm_start", lambda: pytest.fail("the web cluster loaded a model"))
    post_spawn.send(sender="django_q", proc_name="Process-1")


@pytest.mark.django_db
def test_warm_start_runs_once_per_process(monkeypatch):
    monkeypatch.setattr(worker, "_preloaded", set())
    preloads = []
    monkeypatch.setattr(worker, "_preload", lambda name, startup=False: preloads.append((name, startup)))
    monkeypatch.setattr(worker.safety, "get_checker", lambda: None)
    assert worker.warm_start() is not None
    assert worker.warm_start() is None
    assert preloads == [(worker.conf.DEFAULT_PRESET, True)]


@pytest.mark.django_db
def test_the_floor_is_the_minimum_or_the_measured_load_times_the_margin(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "MIN_TASK_TIMEOUT_SECONDS": 120,
        "TASK_TIMEOUT_LOAD_MARGIN": 2.0,
    }
    assert startup.task_timeout_floor(host="gpu-1") == 120
    t0 = timezone.now()
    heartbeat.worker_heartbeat_beat(worker="gpu-1:7", host="gpu-1", pid=7, started_at=t0, load_seconds=300)
    heartbeat.worker_heartbeat_beat(
        worker="gpu-1:8", host="gpu-1", pid=8, started_at=t0 + timedelta(hours=1), load_seconds=90
    )
    heartbeat.worker_heartbeat_beat(
        worker="gpu-2:9", host="gpu-2", pid=9, started_at=t0 + timedelta(hours=2), load_seconds=500
    )
    assert startup.task_timeout_floor(host="gpu-1") == 180  # the newest on this host: 90 x 2
    assert startup.task_timeout_floor(host="gpu-3") == 1000  # none here: the newest anywhere


@pytest.mark.django_db
def test_run_gpu_worker_refuses_a_timeout_below_the_floor(settings, monkeypatch):
    started = []
    from personalization.management.commands import run_gpu_worker

    monkeypatch.setattr(run_gpu_worker.Command, "spawn", lambda self, env: started.append(env))
    monkeypatch.setattr(run_gpu_worker, "check_settings", lambda: [])
    monkeypatch.setattr(run_gpu_worker, "check_safety", lambda: None)
    heartbeat.worker_heartbeat_beat(
        worker="gpu-1:7", host="gpu-1", pid=7, started_at=timezone.now(), load_seconds=400
    )
    monkeypatch.setattr(startup.socket, "gethostname", lambda: "gpu-1")
    gpu_timeout(settings, 600)
    with pytest.raises(CommandError) as refused:
        call_command("run_gpu_worker")
    message = str(refused.value)
    assert "Q_CLUSTER['ALT_CLUSTERS']['gpu']['timeout'] is 600 s" in message
    assert "800 s" in message and "PERSONALIZATION_TASK_TIMEOUT" in message
    assert started == []  # no cluster was started


@pytest.mark.django_db
def test_a_timeout_at_or_above_the_floor_or_none_passes(settings):
    gpu_timeout(settings, 120)
    startup.check_task_timeout(host="gpu-1")
    gpu_timeout(settings, None)
    startup.check_task_timeout(host="gpu-1")
    gpu_timeout(settings, 119)
    with pytest.raises(Exception, match="MIN_TASK_TIMEOUT_SECONDS'\\] is 120"):
        startup.check_task_timeout(host="gpu-1")


def test_a_failing_start_up_load_leaves_the_process_running(monkeypatch, caplog):
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    monkeypatch.setattr(Conf, "CLUSTER_NAME", "gpu")
    monkeypatch.setattr(heartbeat, "start_for_this_process", lambda: None)

    def broken():
        raise RuntimeError("CUDA driver too old")

    monkeypatch.setattr(worker, "warm_start", broken)
    post_spawn.send(sender="django_q", proc_name="Process-1")  # no exception reaches django-q2
    assert "start-up load failed" in caplog.text
