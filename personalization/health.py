"""Health checks (selectors): the database, the shared cache, the GPU workers' heartbeats and the
queue. ``GET /readyz`` and ``manage.py personalization_health`` show the same ``Report``.

Each check is ok, degraded or failing; the report is its worst check. Cheap: one query per check on
indexed columns (five in all) and one cache write and read. No secrets: a check says what is wrong
(an exception's class at most), never a message, a host name or a stack trace.

- database: ``SELECT 1``. Failing when it cannot be reached (nothing else is checked then).
- cache: a write and a read of the shared cache. Degraded (not failing) when down: the throttles
  that use it let requests through and the quotas are counted in the database (``limits``).
- workers: GPU worker processes with a heartbeat within WORKER_STALE_SECONDS. Failing with none.
- queue: the age of the oldest queued request. Degraded from QUEUE_AGE_WARN_SECONDS, failing from
  QUEUE_AGE_FAIL_SECONDS.
- running: the newest lease renewal of the running requests. Degraded when older than
  RUNNING_STALE_SECONDS (their worker stopped renewing; the sweeper requeues them at lease expiry).
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from .conf import conf
from .models import GenerationRequest, WorkerHeartbeat

logger = logging.getLogger(__name__)

OK, DEGRADED, FAILING = "ok", "degraded", "failing"
_RANK = {OK: 0, DEGRADED: 1, FAILING: 2}


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"status": self.status, "detail": self.detail, **self.data}


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def status(self) -> str:
        return max((check.status for check in self.checks), key=_RANK.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        """0 ok, 1 degraded, 2 failing (the command's exit status)."""
        return _RANK[self.status]

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "failing": [check.name for check in self.checks if check.status == FAILING],
            "degraded": [check.name for check in self.checks if check.status == DEGRADED],
            "checks": {check.name: check.as_dict() for check in self.checks},
        }


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 1)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: the database is unreachable (%s)", type(exc).__name__)
        return Check("database", FAILING, f"unreachable ({type(exc).__name__})")
    return Check("database", OK, "reachable")


def check_cache() -> Check:
    key, token = "personalization:health", uuid.uuid4().hex
    try:
        cache.set(key, token, 30)
        seen = cache.get(key)
    except Exception as exc:  # any backend's connection error (redis, the database, ...)
        logger.warning("health: the cache is unreachable (%s)", type(exc).__name__)
        return Check("cache", DEGRADED, f"unreachable ({type(exc).__name__}): throttles let requests through")
    if seen != token:
        return Check("cache", DEGRADED, "a value written was not read back")
    return Check("cache", OK, "reachable")


def check_workers(*, now: datetime) -> Check:
    cutoff = now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    found = WorkerHeartbeat.objects.exclude(state=WorkerHeartbeat.State.KILLED).aggregate(
        alive=Count("pk", filter=Q(last_seen__gte=cutoff)),
        busy=Count("pk", filter=Q(last_seen__gte=cutoff, state=WorkerHeartbeat.State.BUSY)),
        stale=Count("pk", filter=Q(last_seen__lt=cutoff)),
        newest=Max("last_seen"),
    )
    data = {
        "alive": found["alive"],
        "busy": found["busy"],
        "stale": found["stale"],
        "newest_heartbeat_age_seconds": _age(now, found["newest"]),
        "stale_after_seconds": conf.WORKER_STALE_SECONDS,
    }
    if not found["alive"]:
        return Check("workers", FAILING, "no GPU worker has a recent heartbeat", data)
    return Check("workers", OK, f"{found['alive']} alive", data)


def check_queue(*, now: datetime) -> Check:
    found = GenerationRequest.objects.filter(status=GenerationRequest.Status.QUEUED).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    age = _age(now, found["oldest"])
    data = {
        "queued": found["count"],
        "oldest_age_seconds": age,
        "warn_after_seconds": conf.QUEUE_AGE_WARN_SECONDS,
        "fail_after_seconds": conf.QUEUE_AGE_FAIL_SECONDS,
    }
    if age is None:
        return Check("queue", OK, "empty", data)
    status = (
        FAILING
        if age >= conf.QUEUE_AGE_FAIL_SECONDS
        else DEGRADED
        if age >= conf.QUEUE_AGE_WARN_SECONDS
        else OK
    )
    return Check("queue", status, f"{found['count']} queued, the oldest for {age:.0f} s", data)


def check_running(*, now: datetime) -> Check:
    found = GenerationRequest.objects.filter(status=GenerationRequest.Status.RUNNING).aggregate(
        count=Count("pk"), lease=Max("lease_expires_at")
    )
    beat = None if found["lease"] is None else found["lease"] - timedelta(seconds=conf.LEASE_SECONDS)
    age = _age(now, beat)
    data = {
        "running": found["count"],
        "newest_heartbeat_age_seconds": age,
        "warn_after_seconds": conf.RUNNING_STALE_SECONDS,
    }
    if not found["count"]:
        return Check("running", OK, "none running", data)
    if age is None or age >= conf.RUNNING_STALE_SECONDS:
        return Check(
            "running", DEGRADED, f"{found['count']} running, no heartbeat for {age or 0:.0f} s", data
        )
    return Check("running", OK, f"{found['count']} running", data)


def _read(name: str, check, *, now: datetime) -> Check:
    try:
        return check(now=now)
    except DatabaseError as exc:  # a table missing (not migrated), the connection lost meanwhile
        logger.warning("health: %s could not be read (%s)", name, type(exc).__name__)
        return Check(name, FAILING, f"could not be read ({type(exc).__name__})")


def system_health(*, now: datetime | None = None) -> Report:
    """Every check; without a database only the database and the cache."""
    database = check_database()
    checks = [database, check_cache()]
    if database.status == OK:
        now = now or timezone.now()
        checks += [
            _read("workers", check_workers, now=now),
            _read("queue", check_queue, now=now),
            _read("running", check_running, now=now),
        ]
    return Report(tuple(checks))
