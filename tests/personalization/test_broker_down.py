"""Faults of the queue (issue 14): a broker that cannot be reached never fails a request whose row
committed, and the sweeper wakes every piece of pending work again: each at most once while a
wake-up is pending, and logarithmically often over a long wait."""

import logging
import math
import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from personalization import queue
from personalization.approval import line_design_approve
from personalization.conf import conf
from personalization.lifecycle import sweep_expired_leases
from personalization.models import GenerationRequest, LineDesign
from personalization.queue import enqueue_generation, enqueue_print_file
from personalization.services import generation_request_create
from personalization.tasks import sweep
from tests.approval_helpers import ordered_design
from tests.broker_helpers import Broker, broken_broker, sweeps
from tests.factories import make_product, visitor


@pytest.fixture
def broker(monkeypatch) -> Broker:
    return broken_broker(monkeypatch)


Status = GenerationRequest.Status


def studio_data(product) -> dict:
    return {
        "product": product.slug,
        "base_color": "Black",
        "description": "a lighthouse on a cliff at dawn",
        "style": "",
        "material": "",
        "strength": "0.6",
        "steps": "20",
        "guidance_scale": "7.5",
        "seed": "42",
        "variations": "1",
    }


def queued(product, **kw) -> GenerationRequest:
    return generation_request_create(product=product, base_color="White", description="a fox", **kw)


# --- enqueueing is a wake-up, not the record ---------------------------------------------------------


def test_a_failed_enqueue_returns_false_and_warns_once_per_burst(broker, caplog, monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(queue, "clock", lambda: clock["now"])
    monkeypatch.setattr(queue, "_burst", {"until": 0.0, "missed": 0})
    with caplog.at_level(logging.INFO, logger="personalization.queue"):
        assert enqueue_generation("a") is False
        assert enqueue_print_file(7) is False
        assert enqueue_generation("b") is False
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()
        assert "generation-a" in warnings[0].getMessage()
        clock["now"] += queue.BURST_SECONDS + 1  # the next burst warns again, with the count missed
        assert enqueue_generation("c") is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "(3 missed before)" in warnings[1].getMessage()
    broker.up = True
    assert enqueue_generation("d") is True and broker.sent == ["generation-d"]


@pytest.mark.django_db(transaction=True)
def test_studio_post_with_the_broker_down_redirects_and_the_sweep_wakes_it_once(broker):
    product = make_product()
    me = visitor(Client(), "visitor-me")
    response = me.post(reverse("personalization:studio"), studio_data(product))
    g = GenerationRequest.objects.get()  # committed
    assert response.status_code == 302 and response["Location"] == f"/personalize/jobs/{g.pk}/"
    assert g.status == Status.QUEUED and broker.refused == 1 and broker.sent == []
    broker.up = True
    # Sweeps every 10 s from the submit until just before its second wake-up is due.
    for at in sweeps(g.created_at, every=10, count=conf.LEASE_SECONDS * 4 // 10):
        sweep(now=at)
    assert broker.sent == [f"generation-{g.pk}"]


@pytest.mark.django_db(transaction=True)
def test_studio_post_with_the_real_redis_broker_on_a_closed_port_redirects(monkeypatch):
    """django-q2's own Redis broker, pointed at a port nothing listens on."""
    from django_q.conf import Conf

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {
        "ORM": None,
        "BROKER_CLASS": None,
        "DJANGO_REDIS": None,
        "REDIS": f"redis://127.0.0.1:{port}/7",
    }.items():
        monkeypatch.setattr(Conf, name, value)
    product = make_product()
    response = visitor(Client(), "visitor-me").post(reverse("personalization:studio"), studio_data(product))
    g = GenerationRequest.objects.get()
    assert response.status_code == 302 and g.status == Status.QUEUED
    assert enqueue_generation(g.pk) is False


# --- one pending wake-up per request; logarithmically many in all -------------------------------------


@pytest.mark.django_db
def test_a_requeued_row_is_not_woken_again_at_the_next_sweep(broker):
    """The requeue's own wake-up counts: the next is two leases later at the earliest (it used to be
    sent again by every following sweep, the lease cleared)."""
    broker.up = True
    g = queued(make_product())
    broker.sent.clear()
    start = g.created_at + timedelta(seconds=conf.LEASE_SECONDS * 5)
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=Status.RUNNING, attempts=1, worker="dead:1", lease_expires_at=start - timedelta(seconds=1)
    )
    counts = [
        sweep_expired_leases(now=at) for at in sweeps(start, every=10, count=conf.LEASE_SECONDS * 2 // 10)
    ]
    assert counts[0]["requeued"] == 1 and sum(c["rewoken"] for c in counts) == 0
    assert broker.sent == [f"generation-{g.pk}"]


def wake_bound(wait: float) -> int:
    """docs/WORKER.md: at most 1 + ceil(log2(WAKE_MAX / 2 leases)) + ceil(wait / WAKE_MAX) wake-ups."""
    floor, cap = conf.LEASE_SECONDS * 2, conf.WAKE_MAX_SECONDS
    return 1 + math.ceil(math.log2(cap / floor)) + math.ceil(wait / cap)


@pytest.mark.django_db
def test_a_hundred_sweeps_over_a_long_wait_send_logarithmically_many_wake_ups(broker, monkeypatch):
    """Redis: whether a wake-up is still waiting cannot be asked, so the backoff alone bounds them."""
    monkeypatch.setattr(queue, "pending_task_names", lambda names: None)
    broker.up = True
    product = make_product()
    rows = [queued(product, seed=n) for n in range(3)]
    broker.sent.clear()
    start, every, count = min(r.created_at for r in rows), 72, 100  # two hours, a sweep each 72 s
    for at in sweeps(start, every=every, count=count):
        sweep_expired_leases(now=at)
    wait = every * count
    for row in rows:
        woken = broker.sent.count(f"generation-{row.pk}")
        assert 2 <= woken <= wake_bound(wait), woken
    assert wake_bound(wait) <= 10 < wait // (conf.LEASE_SECONDS * 2)  # the old rule: 60 each


@pytest.mark.django_db
def test_a_wake_up_still_in_the_orm_queue_is_not_sent_again(monkeypatch):
    """The ORM broker: the sweeper looks for the request's message in django-q2's OrmQ."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        pytest.skip("the ORM broker only (REDIS_URL is set)")
    down = Broker()
    with monkeypatch.context() as patched:
        patched.setattr("django_q.tasks.async_task", down)
        g = queued(make_product())

    def mine():
        return [
            row for row in OrmQ.objects.filter(key=conf.GPU_CLUSTER) if row.name() == f"generation-{g.pk}"
        ]

    assert mine() == []
    times = sweeps(g.created_at, every=72, count=100)
    for at in times[:50]:
        sweep_expired_leases(now=at)
    assert len(mine()) == 1  # one wake-up, waiting; the backoff alone would have sent about 5
    OrmQ.objects.filter(pk__in=[row.pk for row in mine()]).delete()  # taken by a worker and lost
    for at in times[50:]:
        sweep_expired_leases(now=at)
    assert len(mine()) == 1


# --- print jobs ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_approval_with_the_broker_down_owes_the_print_job_and_the_sweep_wakes_it_once(broker):
    broker.up = True
    design = ordered_design()
    broker.up = False
    LineDesign.objects.filter(pk=design.pk).update(print_job_wake_at=None)  # its checkout job ran
    approved = line_design_approve(design=design)
    assert approved.review_state == LineDesign.ReviewState.APPROVED and approved.print_job_wake_at
    assert broker.sent.count(f"print-file-{design.pk}") == 1  # only the checkout's
    broker.up = True
    now = timezone.now()
    for at in sweeps(now, every=10, count=conf.LEASE_SECONDS * 4 // 10):
        sweep(now=at)
    assert broker.sent.count(f"print-file-{design.pk}") == 2
