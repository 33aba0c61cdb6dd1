"""personalization.limits (atomic usage counters) and the daily quota built on them: taking, giving
back, all-or-nothing, windows and their expiry, the quota per account / visitor / address, what it
stores, and the refunds of the shop's failures (exactly once)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from personalization import limits
from personalization.conf import conf
from personalization.lifecycle import (
    REFUNDED_CODES,
    generation_fail,
    generation_mark_cancelled,
    generation_reject,
    sweep_expired_leases,
)
from personalization.models import GenerationImage, GenerationRequest, UsageCounter
from personalization.services import QuotaExceeded, generation_request_cancel, generation_request_create
from personalization.templatetags.personalization_tags import wait_words
from tests.factories import make_product, make_user, png

Status = GenerationRequest.Status
NOON = datetime(2030, 5, 17, 12, 0, 30, tzinfo=UTC)  # 30 s into a minute, 12 h into a day
ADDRESS = "203.0.113.9"


def count(key: str) -> int:
    return sum(UsageCounter.objects.filter(key=key).values_list("count", flat=True))


# --- take, give back, windows ------------------------------------------------------------------


@pytest.mark.django_db
def test_take_allows_the_limit_then_says_when_the_window_ends():
    results = [limits.take(key="k", limit=3, window=60, at=NOON) for _ in range(4)]
    assert results == [(True, 0), (True, 0), (True, 0), (False, 30)]
    row = UsageCounter.objects.get(key="k")
    assert row.count == 3
    assert row.window_start == NOON.replace(second=0)
    assert row.expires_at == NOON.replace(second=0) + timedelta(minutes=1)


@pytest.mark.django_db
def test_the_next_window_starts_afresh_in_its_own_row():
    assert [limits.take(key="k", limit=1, window=60, at=NOON)[0] for _ in range(2)] == [True, False]
    later = NOON + timedelta(seconds=30)  # 12:01:00, the next minute
    assert limits.take(key="k", limit=1, window=60, at=later) == (True, 0)
    assert UsageCounter.objects.filter(key="k").count() == 2
    # A second before the edge, one second to wait (never 0).
    assert limits.take(key="k", limit=1, window=60, at=later + timedelta(seconds=59.5)) == (False, 1)


@pytest.mark.django_db
def test_keys_are_counted_apart():
    assert limits.take(key="a", limit=1, window=60, at=NOON)[0]
    assert limits.take(key="b", limit=1, window=60, at=NOON)[0]
    assert not limits.take(key="a", limit=1, window=60, at=NOON)[0]


@pytest.mark.django_db
def test_a_zero_limit_refuses_everything():
    assert limits.take(key="k", limit=0, window=60, at=NOON) == (False, 30)


def test_windows_are_aligned_to_the_clock_and_days_to_utc_midnight():
    start, end = limits.window_bounds(window=86400, at=NOON)
    assert (start, end) == (datetime(2030, 5, 17, tzinfo=UTC), datetime(2030, 5, 18, tzinfo=UTC))
    assert limits.window_bounds(window=3600, at=NOON)[0] == datetime(2030, 5, 17, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        limits.window_bounds(window=0, at=NOON)


@pytest.mark.django_db
def test_give_back_returns_a_unit_and_never_goes_below_zero():
    outcome = limits.take_all(limits=[limits.Limit(key="k", limit=1, window=60)], at=NOON)
    assert outcome.allowed and outcome.charges == (
        limits.Charge(key="k", window_start=NOON.replace(second=0)),
    )
    assert not limits.take(key="k", limit=1, window=60, at=NOON)[0]
    assert limits.give_back(charges=outcome.charges) == 1
    assert limits.take(key="k", limit=1, window=60, at=NOON)[0]
    assert limits.give_back(charges=outcome.charges) == 1
    assert limits.give_back(charges=outcome.charges) == 0  # already at zero
    assert count("k") == 0
    # A charge survives JSON (it is stored on the request).
    assert limits.Charge.from_json(json.loads(json.dumps(outcome.charges[0].as_json()))) == outcome.charges[0]


@pytest.mark.django_db
def test_take_all_is_all_or_nothing():
    first = limits.Limit(key="a-visitor", limit=5, window=3600)
    second = limits.Limit(key="b-address", limit=1, window=60)
    assert limits.take_all(limits=[first, second], at=NOON).allowed
    refused = limits.take_all(limits=[first, second], at=NOON)
    assert not refused.allowed and refused.charges == () and refused.refused == second
    assert refused.retry_after == 30
    # The first key's unit was given back: one taken, not two.
    assert count("a-visitor") == 1 and count("b-address") == 1


@pytest.mark.django_db
def test_take_all_waits_for_the_longest_of_the_exhausted_limits():
    minute = limits.Limit(key="a-minute", limit=1, window=60)
    hour = limits.Limit(key="b-hour", limit=1, window=3600)
    assert limits.take_all(limits=[minute, hour], at=NOON).allowed
    refused = limits.take_all(limits=[minute, hour], at=NOON)
    assert not refused.allowed
    assert refused.retry_after == 3600 - 30  # the hour's edge, not the minute's


@pytest.mark.django_db
def test_exhausted_takes_nothing():
    limit = limits.Limit(key="k", limit=1, window=60)
    assert limits.exhausted(limit=limit, at=NOON) is None
    assert not UsageCounter.objects.filter(key="k", count__gt=0).exists()
    limits.take_all(limits=[limit], at=NOON)
    assert limits.exhausted(limit=limit, at=NOON) == 30


@pytest.mark.django_db
def test_purge_expired_deletes_only_windows_that_ended():
    limits.take(key="old", limit=5, window=60, at=NOON - timedelta(minutes=5))
    limits.take(key="now", limit=5, window=60, at=NOON)
    assert limits.purge_expired(at=NOON) == 1
    assert list(UsageCounter.objects.values_list("key", flat=True)) == ["now"]


@pytest.mark.django_db
def test_the_sweeper_purges_ended_windows(settings):
    limits.take(key="old", limit=5, window=60, at=limits.now() - timedelta(days=2))
    limits.take(key="today", limit=5, window=86400)
    sweep_expired_leases()
    assert list(UsageCounter.objects.values_list("key", flat=True)) == ["today"]


def test_subject_hash_is_salted_and_stable():
    digest = limits.subject_hash(ADDRESS)
    assert digest == limits.subject_hash(ADDRESS) and digest != limits.subject_hash("203.0.113.10")
    assert ADDRESS not in digest and len(digest) == 32
    import hashlib

    assert digest not in hashlib.sha256(ADDRESS.encode()).hexdigest()  # not a bare, unsalted hash


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (42, "42 seconds"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"),
     (3599, "60 minutes"), (3600, "1 hour"), (3601, "2 hours"), (0, "1 second")],
)  # fmt: skip
def test_wait_words(seconds, words):
    assert wait_words(seconds) == words


@pytest.mark.django_db(transaction=True)
def test_parallel_takes_of_a_new_key_get_exactly_the_limit():
    """12 threads (each its own database connection) create the window row and take at once."""
    barrier = threading.Barrier(12)

    def one(_):
        try:
            barrier.wait(timeout=30)
            return limits.take(key="burst", limit=5, window=3600, at=NOON)[0]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        allowed = list(pool.map(one, range(12)))
    assert allowed.count(True) == 5
    assert list(UsageCounter.objects.filter(key="burst").values_list("count", flat=True)) == [5]


@pytest.mark.django_db(transaction=True)
def test_a_count_outside_a_transaction_does_not_wait_for_the_disk_on_postgresql():
    """A rate counter's UPDATE commits asynchronously (a burst from one address or account must not
    queue behind one disk flush each), the existing row takes one UPDATE; inside a transaction (the
    quota, charged with its request) nothing changes how that transaction commits."""
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    limits.take(key="async", limit=5, window=3600, at=NOON)  # makes the window's row
    with CaptureQueriesContext(connection) as queries:
        assert limits.take(key="async", limit=5, window=3600, at=NOON)[0]
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(s.startswith("UPDATE") for s in sql) == 1 and not any(s.startswith("SELECT") for s in sql)
    assert "SET LOCAL synchronous_commit TO OFF" in sql
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert limits.take(key="async", limit=5, window=3600, at=NOON)[0]
    assert not any("synchronous_commit" in q["sql"] for q in queries.captured_queries)
    assert count("async") == 3


# --- the daily quota ---------------------------------------------------------------------------


@pytest.fixture
def product(db):
    return make_product(slug="quota-tee")


def submit(product, **owner):
    owner.setdefault("seed", None)
    return generation_request_create(
        product=product, base_color="White", description="a fox in the snow", steps=20, **owner
    )


def quota(settings, daily, per_ip=None):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "DAILY_QUOTA": daily,
        "DAILY_QUOTA_PER_IP": per_ip,
    }


def test_an_accounts_quota(settings, product):
    quota(settings, 2)
    user = make_user()
    submit(product, customer=user, client_ip=ADDRESS)
    submit(product, customer=user, client_ip=ADDRESS)
    with pytest.raises(QuotaExceeded) as exc:
        submit(product, customer=user, client_ip=ADDRESS)
    assert exc.value.limit == 2 and 0 < exc.value.retry_after <= 86400
    assert "Daily limit of 2 designs reached. Try again in" in str(exc.value)
    assert GenerationRequest.objects.count() == 2
    # Accounts are not counted per address: another account at the same address may go on.
    submit(product, customer=make_user(), client_ip=ADDRESS)


def test_an_anonymous_visitors_quota_and_a_new_cookie_does_not_reset_the_address(settings, product):
    quota(settings, 2, per_ip=3)
    submit(product, session_key="visitor-1", client_ip=ADDRESS)
    submit(product, session_key="visitor-1", client_ip=ADDRESS)
    with pytest.raises(QuotaExceeded):  # the visitor's own 2
        submit(product, session_key="visitor-1", client_ip=ADDRESS)
    submit(product, session_key="visitor-2", client_ip=ADDRESS)  # a new cookie: the address's 3rd
    with pytest.raises(QuotaExceeded) as exc:
        submit(product, session_key="visitor-3", client_ip=ADDRESS)
    assert exc.value.limit == 3
    assert GenerationRequest.objects.count() == 3
    # Another address is another budget.
    submit(product, session_key="visitor-4", client_ip="198.51.100.1")


def test_the_per_address_quota_defaults_to_three_times_the_daily_quota(settings, product):
    quota(settings, 1)
    for i in range(3):
        submit(product, session_key=f"visitor-{i}", client_ip=ADDRESS)
    with pytest.raises(QuotaExceeded) as exc:
        submit(product, session_key="visitor-9", client_ip=ADDRESS)
    assert exc.value.limit == 3


def test_zero_disables_the_quota(settings, product):
    quota(settings, 0)
    for _ in range(3):
        submit(product, session_key="visitor-1", client_ip=ADDRESS)
    assert not UsageCounter.objects.exists()


def test_a_refused_quota_charges_nothing_anywhere(settings, product):
    """All or nothing: the visitor is over its quota, so the address is not charged either."""
    quota(settings, 1, per_ip=10)
    submit(product, session_key="visitor-1", client_ip=ADDRESS)
    for _ in range(3):
        with pytest.raises(QuotaExceeded):
            submit(product, session_key="visitor-1", client_ip=ADDRESS)
    assert count(f"quota:ip:{limits.subject_hash(ADDRESS)}") == 1


def test_the_address_is_stored_only_as_a_salted_hash(settings, product):
    quota(settings, 5)
    req = submit(product, session_key="visitor-1", client_ip=ADDRESS)
    keys = {charge["key"] for charge in req.quota_charges}
    assert keys == {
        f"quota:visitor:{limits.subject_hash('visitor-1')}",
        f"quota:ip:{limits.subject_hash(ADDRESS)}",
    }
    stored = json.dumps(req.quota_charges) + " ".join(UsageCounter.objects.values_list("key", flat=True))
    assert ADDRESS not in stored and "visitor-1" not in stored
    req.refresh_from_db()
    assert {charge["key"] for charge in req.quota_charges} == keys


def test_a_policy_rejection_is_not_charged(settings, product):
    quota(settings, 1)
    rejected = generation_request_create(
        product=product, base_color="White", description="a nude figure", session_key="v", client_ip=ADDRESS
    )
    assert rejected.status == Status.REJECTED and rejected.quota_charges == []
    assert not UsageCounter.objects.filter(count__gt=0).exists()
    assert submit(product, session_key="v", client_ip=ADDRESS).status == Status.QUEUED


def test_an_answer_from_the_cache_is_charged(settings, product):
    quota(settings, 5)
    first = submit(product, session_key="v", client_ip=ADDRESS, seed=7)
    GenerationRequest.objects.filter(pk=first.pk).update(status=Status.SUCCEEDED)
    image = GenerationImage(request=first, index=0, seed=7, width=64, height=64, safety={"checked": True})
    image.image.save("design.png", ContentFile(png()), save=False)
    image.mockup.save("mockup.png", ContentFile(png()), save=False)
    image.save()
    again = submit(product, session_key="v", client_ip=ADDRESS, seed=7)
    assert again.status == Status.SUCCEEDED and again.cache_source_id == first.pk
    assert len(again.quota_charges) == 2
    assert count(f"quota:visitor:{limits.subject_hash('v')}") == 2


# --- refunds: the shop's failures give the quota back, exactly once --------------------------------


def running(req, *, worker="w1", **fields):
    GenerationRequest.objects.filter(pk=req.pk).update(status=Status.RUNNING, worker=worker, **fields)
    return req


VISITOR_KEY = f"quota:visitor:{limits.subject_hash('v')}"
ADDRESS_KEY = f"quota:ip:{limits.subject_hash(ADDRESS)}"


@pytest.mark.parametrize("code", sorted(REFUNDED_CODES - {"worker_lost"}))
def test_a_shop_side_failure_gives_the_quota_back_once(settings, product, code):
    quota(settings, 5)
    submit(product, session_key="v", client_ip=ADDRESS)
    req = running(submit(product, session_key="v", client_ip=ADDRESS))
    assert count(VISITOR_KEY) == count(ADDRESS_KEY) == 2
    assert generation_fail(request_id=req.pk, worker="w1", code=code, message="The shop failed.")
    assert count(VISITOR_KEY) == count(ADDRESS_KEY) == 1
    assert not generation_fail(request_id=req.pk, worker="w1", code=code, message="The shop failed.")
    assert not generation_fail(request_id=req.pk, worker=None, code=code, message="The shop failed.")
    assert count(VISITOR_KEY) == count(ADDRESS_KEY) == 1  # not twice
    req.refresh_from_db()
    assert req.status == Status.FAILED
    assert [charge["refunded"] for charge in req.quota_charges] == [True, True]


def test_the_refund_makes_room_for_a_new_request(settings, product):
    quota(settings, 1)
    user = make_user()
    req = running(submit(product, customer=user))
    with pytest.raises(QuotaExceeded):
        submit(product, customer=user)
    generation_fail(request_id=req.pk, worker="w1", code="gpu_oom", message="Out of memory.")
    assert submit(product, customer=user).status == Status.QUEUED


def test_a_worker_lost_in_the_sweep_gives_the_quota_back_once(settings, product):
    quota(settings, 5)
    submit(product, session_key="v", client_ip=ADDRESS)
    past = NOON - timedelta(days=3650)
    req = running(
        submit(product, session_key="v", client_ip=ADDRESS),
        attempts=conf.MAX_ATTEMPTS,
        lease_expires_at=past,
    )
    assert sweep_expired_leases()["failed"] == 1
    assert sweep_expired_leases()["failed"] == 0
    req.refresh_from_db()
    assert (req.status, req.error_code) == (Status.FAILED, "worker_lost")
    assert count(VISITOR_KEY) == count(ADDRESS_KEY) == 1


def test_a_failure_for_another_reason_keeps_counting(settings, product):
    quota(settings, 5)
    req = running(submit(product, session_key="v", client_ip=ADDRESS))
    generation_fail(request_id=req.pk, worker="w1", code="invalid_reference", message="Bad picture.")
    assert count(VISITOR_KEY) == 1
    req.refresh_from_db()
    assert not any(charge.get("refunded") for charge in req.quota_charges)


def test_a_customer_cancel_keeps_counting(settings, product):
    quota(settings, 5)
    queued = submit(product, session_key="v", client_ip=ADDRESS)
    generation_request_cancel(generation=queued)
    req = running(submit(product, session_key="v", client_ip=ADDRESS))
    assert generation_mark_cancelled(request_id=req.pk, worker="w1")
    assert count(VISITOR_KEY) == count(ADDRESS_KEY) == 2


def test_an_unsafe_output_keeps_counting(settings, product):
    quota(settings, 5)
    req = running(submit(product, session_key="v", client_ip=ADDRESS))
    assert generation_reject(request_id=req.pk, worker="w1", code="unsafe_output", message="Unsafe.")
    assert count(VISITOR_KEY) == 1
