"""Usage counters that hold under concurrency: the rate limits and the daily quota.

A limit allows ``limit`` units per window of ``window`` seconds. Windows are aligned to the clock
(a per-minute rate starts afresh at every full minute, the daily quota at 00:00 UTC) and each is one
``UsageCounter`` row (key, window_start). Taking a unit is one conditional UPDATE,
``... SET count = count + 1 WHERE pk = ... AND count < limit``: the database decides who gets the
last unit, so a parallel burst gets exactly as many units as a sequential one, on SQLite (writers
take turns) and on PostgreSQL (the row is locked and the condition re-checked) alike.

Keys name what is counted and never hold a raw client address or visitor key: ``subject_hash``
turns them into a salted HMAC (under SECRET_KEY). Rows of past windows are deleted by
``purge_expired`` (the lease sweeper calls it).
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.settings import api_settings

from .models import UsageCounter

_HASH_SALT = "personalization.limits.subject"


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` units of ``key`` per ``window`` seconds."""

    key: str
    limit: int
    window: int


@dataclass(frozen=True)
class Charge:
    """One unit taken from the window of ``key`` that starts at ``window_start``."""

    key: str
    window_start: datetime

    def as_json(self) -> dict:
        return {"key": self.key, "window_start": self.window_start.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> "Charge":
        return cls(key=data["key"], window_start=datetime.fromisoformat(data["window_start"]))


@dataclass(frozen=True)
class Outcome:
    """What ``take_all`` did: all units taken (``charges``), or none and how long to wait."""

    allowed: bool
    retry_after: int = 0
    charges: tuple[Charge, ...] = field(default=())
    refused: Limit | None = None


def now() -> datetime:
    """The clock the windows follow (one place, so a test can pin it away from a window's edge)."""
    return timezone.now()


def subject_hash(value: str) -> str:
    """A client address or visitor key as it may appear in a key: salted, not reversible."""
    return salted_hmac(_HASH_SALT, value, algorithm="sha256").hexdigest()[:32]


def window_bounds(*, window: int, at: datetime) -> tuple[datetime, datetime]:
    """The window of ``window`` seconds (aligned to the Unix epoch, so days start at 00:00 UTC) that
    holds ``at``."""
    if window < 1:
        raise ValueError("A window lasts at least one second.")
    seconds = math.floor(at.timestamp())
    start = datetime.fromtimestamp(seconds - seconds % window, tz=UTC)
    return start, start + timedelta(seconds=window)


def _seconds_until(end: datetime, at: datetime) -> int:
    return max(1, math.ceil((end - at).total_seconds()))


def _window_row(*, key: str, start: datetime, end: datetime) -> int:
    """The pk of the window's row, created when missing. Two requests creating it at once meet on
    the unique (key, window_start): the loser's INSERT fails and it reads the winner's row."""
    for _ in range(3):
        pk = UsageCounter.objects.filter(key=key, window_start=start).values_list("pk", flat=True).first()
        if pk is not None:
            return pk
        counter = UsageCounter(key=key, window_start=start, expires_at=end, count=0)
        counter.full_clean(validate_unique=False, validate_constraints=False)  # the database checks those
        try:
            with transaction.atomic():
                counter.save(force_insert=True)
        except IntegrityError:
            continue
        return counter.pk
    raise RuntimeError(f"Could not create the usage counter {key!r} @ {start.isoformat()}")


def _counted(rows, **changes) -> int:
    """``rows.update(**changes)``. Outside a transaction on PostgreSQL it commits asynchronously
    (``SET LOCAL synchronous_commit TO OFF``): the row's lock is released without waiting for the
    WAL to reach the disk, so a burst of requests counting in one window (one client address, one
    account) does not queue behind one disk flush each. What a crash may lose is the last fraction
    of a second of counts: these rows are limits, not records. Inside a transaction (the quota,
    charged with its request) the transaction's own commit decides."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return rows.update(**changes)
    with transaction.atomic(using=rows.db):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        return rows.update(**changes)


def _take_one(limit: Limit, at: datetime) -> Charge | None:
    """One conditional UPDATE when the window's row exists (the common case); else the row is made
    (``_window_row``) and the UPDATE tried once more."""
    if limit.limit < 1:
        return None
    start, end = window_bounds(window=limit.window, at=at)
    rows = UsageCounter.objects.filter(key=limit.key, window_start=start, count__lt=limit.limit)
    taken = _counted(rows, count=F("count") + 1)
    if not taken:
        pk = _window_row(key=limit.key, start=start, end=end)  # full, or not made yet
        taken = _counted(UsageCounter.objects.filter(pk=pk, count__lt=limit.limit), count=F("count") + 1)
    return Charge(key=limit.key, window_start=start) if taken else None


def exhausted(*, limit: Limit, at: datetime | None = None) -> int | None:
    """Seconds until ``limit`` has a unit again, or None when it has one now (takes nothing)."""
    at = at or now()
    start, end = window_bounds(window=limit.window, at=at)
    if limit.limit >= 1:
        used = UsageCounter.objects.filter(key=limit.key, window_start=start).values_list("count", flat=True)
        if (used.first() or 0) < limit.limit:
            return None
    return _seconds_until(end, at)


def take_all(*, limits: Sequence[Limit], at: datetime | None = None) -> Outcome:
    """One unit of every limit, or none: when one is used up, the units already taken are given
    back. Keys are taken in sorted order, so two requests never wait on each other's rows in turn."""
    at = at or now()
    ordered = sorted(limits, key=lambda limit: limit.key)
    charges: list[Charge] = []
    for index, limit in enumerate(ordered):
        charge = _take_one(limit, at)
        if charge is None:
            give_back(charges=charges)
            waits = [exhausted(limit=other, at=at) for other in ordered[index + 1 :]]
            wait = max([exhausted(limit=limit, at=at) or 1, *(w for w in waits if w is not None)])
            return Outcome(allowed=False, retry_after=wait, refused=limit)
        charges.append(charge)
    return Outcome(allowed=True, charges=tuple(charges))


def take(*, key: str, limit: int, window: int, at: datetime | None = None) -> tuple[bool, int]:
    """One unit of ``key`` (at most ``limit`` per ``window`` seconds): (True, 0), or (False, the
    seconds until the window ends)."""
    outcome = take_all(limits=[Limit(key=key, limit=limit, window=window)], at=at)
    return outcome.allowed, outcome.retry_after


def give_back(*, charges: Iterable[Charge]) -> int:
    """Return units (a refund, or an all-or-nothing take that failed). A window already purged has
    nothing to return. Returns the number of units given back."""
    returned = 0
    for charge in charges:
        returned += _counted(
            UsageCounter.objects.filter(key=charge.key, window_start=charge.window_start, count__gt=0),
            count=F("count") - 1,
        )
    return returned


def purge_expired(*, at: datetime | None = None) -> int:
    """Delete the rows of windows that have ended; returns how many."""
    deleted, _ = UsageCounter.objects.filter(expires_at__lte=at or now()).delete()
    return deleted


# --- rates (DRF's DEFAULT_THROTTLE_RATES) and the submit limits ----------------------------------

GENERATION_SUBMIT_USER_SCOPE = "generation_submit_user"
GENERATION_SUBMIT_IP_SCOPE = "generation_submit_ip"


def scope_rate(scope: str) -> str | None:
    """The rate of ``scope`` in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read at each call (so a
    deploy's or a test's settings always apply). A scope without a rate is a configuration error."""
    try:
        return api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError:
        raise ImproperlyConfigured(f"No throttle rate set for the {scope!r} scope") from None


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate syntax: "30/min" -> (30, 60); the period's first letter (s, m, h, d) counts."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]


def rate_limit(*, scope: str, subject: str) -> Limit | None:
    """The limit of ``scope`` (its DRF rate, e.g. "30/min") for one subject; None if the rate is None."""
    rate = scope_rate(scope)
    if rate is None:
        return None
    number, window = parse_rate(rate)
    return Limit(key=f"rate:{scope}:{subject}", limit=number, window=window)


DESIGN_PREVIEW_SCOPE = "design_preview"


def design_preview_limits(*, user, visitor: str | None, address: str | None) -> list[Limit]:
    """The live text previews' limit (``DESIGN_PREVIEW_RATE``, the plugin's own setting) per account,
    else visitor, else client address: the studio and the API count together."""
    from .conf import conf

    rate = conf.DESIGN_PREVIEW_RATE
    if rate is None:
        return []
    number, window = parse_rate(rate)
    subject = account_subject(user=user, visitor=visitor, address=address)
    return [Limit(key=f"rate:{DESIGN_PREVIEW_SCOPE}:{subject}", limit=number, window=window)]


def ip_subject(address: str | None) -> str:
    return f"ip:{subject_hash(address or '')}"


def account_subject(*, user, visitor: str | None, address: str | None) -> str:
    """Who a per-account limit counts: the account, else the anonymous visitor, else the address."""
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    if visitor:
        return f"visitor:{subject_hash(visitor)}"
    return ip_subject(address)


def generation_submit_limits(*, user, visitor: str | None, address: str | None) -> list[Limit]:
    """The studio's and the API's submit limits: per account (or visitor) and per client address."""
    found = [
        rate_limit(
            scope=GENERATION_SUBMIT_USER_SCOPE,
            subject=account_subject(user=user, visitor=visitor, address=address),
        ),
        rate_limit(scope=GENERATION_SUBMIT_IP_SCOPE, subject=ip_subject(address)),
    ]
    return [limit for limit in found if limit is not None]
