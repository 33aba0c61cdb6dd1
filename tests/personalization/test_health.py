"""Health checks (``personalization.health``): the queue's age, the running requests' heartbeats and
the GPU workers' heartbeats, on a fake clock; GET /healthz and /readyz; ``personalization_health``."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.utils import OperationalError
from django.test import override_settings
from django.utils import timezone

from personalization import health
from personalization.models import GenerationRequest, WorkerHeartbeat
from personalization.services import generation_request_create
from tests.factories import make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
NOW = timezone.now().replace(microsecond=0)


def _request(*, created_ago: float, status=Status.QUEUED, lease_in: float | None = None) -> GenerationRequest:
    product = make_product(slug=f"tee-{GenerationRequest.objects.count()}")
    made = generation_request_create(
        product=product, base_color="White", description="a fox", session_key="k"
    )
    fields = {"status": status, "created_at": NOW - timedelta(seconds=created_ago)}
    if lease_in is not None:
        fields["lease_expires_at"] = NOW + timedelta(seconds=lease_in)
    GenerationRequest.objects.filter(pk=made.pk).update(**fields)
    return made


def _worker(name: str, *, seen_ago: float, state=WorkerHeartbeat.State.IDLE) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        worker=f"gpu-host:{name}",
        host="gpu-host",
        pid=int(name),
        state=state,
        started_at=NOW - timedelta(hours=1),
        last_seen=NOW - timedelta(seconds=seen_ago),
    )


@pytest.fixture
def thresholds(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "WORKER_STALE_SECONDS": 60,
        "QUEUE_AGE_WARN_SECONDS": 120,
        "QUEUE_AGE_FAIL_SECONDS": 600,
        "RUNNING_STALE_SECONDS": 90,
        "LEASE_SECONDS": 60,
    }


@pytest.mark.parametrize(
    ("ages", "status", "detail"),
    [
        ([], health.OK, "empty"),
        ([30, 119], health.OK, "2 queued, the oldest for 119 s"),
        ([30, 120], health.DEGRADED, "2 queued, the oldest for 120 s"),
        ([599, 5], health.DEGRADED, "2 queued, the oldest for 599 s"),
        ([600], health.FAILING, "1 queued, the oldest for 600 s"),
    ],
)
def test_the_queue_is_judged_by_its_oldest_queued_request(thresholds, ages, status, detail):
    for age in ages:
        _request(created_ago=age)
    _request(created_ago=5000, status=Status.SUCCEEDED)  # finished work is not waiting
    check = health.check_queue(now=NOW)
    assert (check.status, check.detail) == (status, detail)
    assert check.data["queued"] == len(ages)


def test_workers_are_alive_with_a_heartbeat_within_the_stale_limit(thresholds):
    assert health.check_workers(now=NOW).status == health.FAILING  # none ever
    _worker("101", seen_ago=61)
    _worker("102", seen_ago=5, state=WorkerHeartbeat.State.KILLED)  # the watchdog's: never alive
    check = health.check_workers(now=NOW)
    assert check.status == health.FAILING
    assert (check.data["alive"], check.data["stale"]) == (0, 1)

    _worker("103", seen_ago=60, state=WorkerHeartbeat.State.BUSY)
    check = health.check_workers(now=NOW)
    assert (check.status, check.detail) == (health.OK, "1 alive")
    assert check.data == {
        "alive": 1,
        "busy": 1,
        "stale": 1,
        "newest_heartbeat_age_seconds": 60.0,
        "stale_after_seconds": 60,
    }


def test_running_requests_whose_leases_stopped_being_renewed_are_degraded(thresholds):
    assert health.check_running(now=NOW).status == health.OK
    # The lease ends LEASE_SECONDS after its last renewal: 60 - 150 = a beat 150 s ago.
    _request(created_ago=300, status=Status.RUNNING, lease_in=-90)
    check = health.check_running(now=NOW)
    assert (check.status, check.data["newest_heartbeat_age_seconds"]) == (health.DEGRADED, 150.0)
    _request(created_ago=300, status=Status.RUNNING, lease_in=55)  # renewed 5 s ago
    check = health.check_running(now=NOW)
    assert (check.status, check.data) == (
        health.OK,
        {"running": 2, "newest_heartbeat_age_seconds": 5.0, "warn_after_seconds": 90},
    )


def test_the_report_is_its_worst_check_with_the_exit_code_of_the_command(thresholds):
    _worker("201", seen_ago=1)
    report = health.system_health(now=NOW)
    assert (report.status, report.exit_code) == (health.OK, 0)
    assert [check.name for check in report.checks] == ["database", "cache", "workers", "queue", "running"]
    _request(created_ago=200)
    report = health.system_health(now=NOW)
    assert (report.status, report.exit_code, report.as_dict()["degraded"]) == (health.DEGRADED, 1, ["queue"])
    WorkerHeartbeat.objects.all().delete()
    report = health.system_health(now=NOW)
    assert (report.status, report.exit_code) == (health.FAILING, 2)
    assert report.as_dict()["failing"] == ["workers"]


def test_an_unreachable_database_fails_without_its_message(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError('could not connect to server at "db.internal" (10.0.0.7), password=hunter2')

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)
    report = health.system_health(now=NOW)
    assert report.status == health.FAILING
    assert [check.name for check in report.checks] == ["database", "cache"]
    body = json.dumps(report.as_dict())
    assert "unreachable (OperationalError)" in body
    assert "db.internal" not in body and "hunter2" not in body and "10.0.0.7" not in body


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405


def test_readyz_is_200_when_ok_or_degraded_and_503_when_failing(
    client, thresholds, django_assert_max_num_queries
):
    WorkerHeartbeat.objects.create(
        worker="h:1", host="h", pid=1, started_at=timezone.now(), last_seen=timezone.now()
    )
    with django_assert_max_num_queries(5):
        response = client.get("/readyz?verbose=<script>&check=%ff")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]

    _request(created_ago=0)
    GenerationRequest.objects.update(created_at=timezone.now() - timedelta(seconds=130))
    response = client.get("/readyz")
    assert (response.status_code, response.json()["status"], response.json()["degraded"]) == (
        200,
        "degraded",
        ["queue"],
    )

    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(seconds=61))
    response = client.get("/readyz")
    body = response.json()
    assert (response.status_code, body["status"], body["failing"]) == (503, "failing", ["workers"])
    assert body["checks"]["workers"]["detail"] == "no GPU worker has a recent heartbeat"
    assert "h:1" not in response.content.decode()  # no worker names, hosts or pids on the open endpoint
    assert client.delete("/readyz").status_code == 405


def test_readyz_is_not_redirected_to_https_for_a_plain_http_probe(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code in (200, 503)
        assert client.get("/").status_code == 301  # everything else still is


def test_the_command_prints_the_checks_and_exits_with_the_status(thresholds, capsys):
    # The command reads the clock itself (NOW was taken when this module was imported, maybe minutes
    # before this test runs in a long suite): a heartbeat of a second ago by the real clock.
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker="gpu-host:301", host="gpu-host", pid=301, started_at=now, last_seen=now - timedelta(seconds=1)
    )
    call_command("personalization_health")  # ok: returns (exit status 0)
    out = capsys.readouterr().out
    assert "workers    ok        1 alive" in out and out.rstrip().endswith("overall    ok")

    _request(created_ago=0)
    GenerationRequest.objects.update(created_at=timezone.now() - timedelta(seconds=601))
    with pytest.raises(SystemExit) as exited:
        call_command("personalization_health", "--json")
    assert exited.value.code == 2
    body = json.loads(capsys.readouterr().out)
    assert (body["status"], body["failing"]) == ("failing", ["queue"])

    GenerationRequest.objects.update(created_at=timezone.now() - timedelta(seconds=121))
    with pytest.raises(SystemExit) as exited:
        call_command("personalization_health")
    assert exited.value.code == 1
    assert "queue      degraded" in capsys.readouterr().out
