"""The GPU worker processes' heartbeats (``personalization.heartbeat``): the row, the thread that
writes it, the busy/idle state around a task, and the django-q2 hook that starts it."""

import logging
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from personalization import heartbeat, worker
from personalization.models import WorkerHeartbeat

State = WorkerHeartbeat.State
T0 = timezone.now().replace(microsecond=0)


def _beat(**fields):
    values = {"worker": "gpu-1:42", "host": "gpu-1", "pid": 42, "started_at": T0, "now": T0, **fields}
    return heartbeat.worker_heartbeat_beat(**values)


@pytest.mark.django_db
def test_a_beat_records_the_process_and_keeps_its_state_until_told():
    row = _beat()
    assert (row.state, row.last_seen, row.started_at) == (State.IDLE, T0, T0)
    row = _beat(state=State.BUSY, now=T0 + timedelta(seconds=5))
    assert (row.state, row.last_seen) == (State.BUSY, T0 + timedelta(seconds=5))
    row = _beat(now=T0 + timedelta(seconds=10))
    assert (row.state, row.last_seen) == (State.BUSY, T0 + timedelta(seconds=10))
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db
def test_a_killed_row_that_beats_again_is_a_new_process_with_that_pid():
    _beat(state=State.BUSY)
    WorkerHeartbeat.objects.update(state=State.KILLED)
    later = T0 + timedelta(minutes=5)
    row = _beat(started_at=later, now=later)
    assert (row.state, row.started_at, row.last_seen) == (State.IDLE, later, later)


@pytest.mark.django_db
def test_rows_of_processes_gone_for_a_day_are_pruned():
    _beat(worker="gpu-1:1", pid=1, now=T0 - timedelta(days=1, seconds=1))
    _beat(worker="gpu-1:2", pid=2, now=T0 - timedelta(hours=23))
    assert heartbeat.heartbeats_prune(now=T0) == 1
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["gpu-1:2"]


class _Ticks:
    """A stop event for the thread: ``wait`` returns False ``beats - 1`` times, then True (stop)."""

    def __init__(self, beats: int):
        self.left, self.timeouts = beats, []

    def wait(self, timeout):
        self.timeouts.append(timeout)
        self.left -= 1
        return self.left <= 0

    def set(self):
        self.left = 0


@pytest.mark.django_db(transaction=True)
def test_the_thread_beats_every_interval_and_survives_a_failed_write(settings, monkeypatch, caplog):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WORKER_HEARTBEAT_SECONDS": 7}
    real, calls = heartbeat.worker_heartbeat_beat, []

    def flaky(**fields):
        calls.append(fields["state"])
        if len(calls) == 1:
            raise heartbeat.WorkerHeartbeat.DoesNotExist("the database hiccuped")
        return real(**fields)

    monkeypatch.setattr(heartbeat, "worker_heartbeat_beat", flaky)
    ticks = _Ticks(beats=3)
    thread = heartbeat.HeartbeatThread(worker="gpu-1:7", host="gpu-1", pid=7, started_at=T0, stop_event=ticks)
    with caplog.at_level(logging.ERROR, logger="personalization.heartbeat"):
        thread.start()
        thread._thread.join(timeout=30)
    assert not thread._thread.is_alive()
    assert calls == [State.IDLE] * 3 and ticks.timeouts == [7.0] * 3
    assert "worker heartbeat of gpu-1:7 failed" in caplog.text
    assert WorkerHeartbeat.objects.get(worker="gpu-1:7").state == State.IDLE


@pytest.mark.django_db
def test_a_task_marks_the_process_busy_while_it_runs(monkeypatch):
    thread = heartbeat.HeartbeatThread(
        worker=f"h:{os.getpid()}", host="h", pid=os.getpid(), started_at=T0, stop_event=_Ticks(1)
    )
    monkeypatch.setattr(heartbeat, "_current", thread)
    seen = []

    def task(request_id):
        seen.append(WorkerHeartbeat.objects.get(worker=thread.worker).state)
        raise RuntimeError("the task failed")

    monkeypatch.setattr(worker, "_run", task)
    with pytest.raises(RuntimeError):
        worker.run("some-id")
    assert seen == [State.BUSY]
    assert WorkerHeartbeat.objects.get(worker=thread.worker).state == State.IDLE


@pytest.mark.django_db
def test_a_print_file_render_marks_the_process_busy_while_it_runs(monkeypatch):
    from personalization import print_jobs, tasks

    thread = heartbeat.HeartbeatThread(
        worker=f"h:{os.getpid()}", host="h", pid=os.getpid(), started_at=T0, stop_event=_Ticks(1)
    )
    monkeypatch.setattr(heartbeat, "_current", thread)
    seen = []

    def render(*, design_id):
        seen.append((design_id, WorkerHeartbeat.objects.get(worker=thread.worker).state))
        raise RuntimeError("the render failed")

    monkeypatch.setattr(print_jobs, "line_design_print_job", render)
    with pytest.raises(RuntimeError):
        tasks.print_file_render(7)
    assert seen == [(7, State.BUSY)]
    assert WorkerHeartbeat.objects.get(worker=thread.worker).state == State.IDLE


@pytest.mark.django_db
def test_without_a_heartbeat_a_task_writes_none(monkeypatch):
    monkeypatch.setattr(heartbeat, "_current", None)
    heartbeat.set_state(State.BUSY)
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.parametrize(("cluster", "started"), [("gpu", True), ("web", False)])
def test_only_the_gpu_clusters_workers_beat(monkeypatch, cluster, started):
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    calls = []
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster)
    monkeypatch.setattr(heartbeat, "start_for_this_process", lambda: calls.append("started"))
    monkeypatch.setattr(worker, "warm_start", lambda: None)  # personalization.startup's receiver
    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert calls == (["started"] if started else [])
