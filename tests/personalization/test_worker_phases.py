"""The phase of a request as the real worker path writes it (the tiny pipeline in this process), and
the phases of the other transitions: cache hits, cancels, refusals, retries, requeues."""

from datetime import timedelta

import pytest
from django.utils import timezone

from personalization import eta, lifecycle, postprocess, worker
from personalization.models import GenerationRequest
from personalization.services import (
    generation_request_cancel,
    generation_request_create,
    generation_request_retry,
)
from tests.factories import make_brand, make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
Phase = GenerationRequest.Phase


@pytest.fixture
def engine(tiny_model, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PROGRESS_INTERVAL": 0}  # every step written
    return worker.engine()


def submit(product, **kw) -> GenerationRequest:
    params = {
        "base_color": "White",
        "description": "Geometric wolf head made of triangles",
        "steps": 3,
        "size": 64,
    }
    return generation_request_create(product=product, **(params | kw))


def state(pk) -> tuple[str, int, int]:
    return GenerationRequest.objects.values_list("phase", "progress_step", "progress_total").get(pk=pk)


def observe(monkeypatch, engine, pks) -> list:
    """What the rows say at each step of each pipeline call, at each scoring and at each store."""
    seen = []
    generate, assess, store = engine.generate, postprocess.assess, postprocess.store_variation

    def observed_generate(jobs, *, on_step=None, **kwargs):
        def step(done, total, latents):
            if on_step is not None:
                on_step(done, total, latents)
            seen.append(("step", *[state(pk) for pk in pks]))

        return generate(jobs, on_step=step, **kwargs)

    def observed_assess(image, req):
        seen.append(("assess", *[state(pk) for pk in pks]))
        return assess(image, req)

    def observed_store(**kwargs):
        seen.append(("store", *[state(pk) for pk in pks]))
        return store(**kwargs)

    monkeypatch.setattr(engine, "generate", observed_generate)
    monkeypatch.setattr(postprocess, "assess", observed_assess)
    monkeypatch.setattr(postprocess, "store_variation", observed_store)
    return seen


def test_the_worker_writes_each_phase_and_a_reseed_counts_its_own_steps(engine, monkeypatch):
    # A minimum no picture reaches: the variation is drawn again once, with its own step k of n.
    product = make_product(brand=make_brand(min_consistency_score=100))
    req = submit(product, seed=7)
    assert state(req.pk) == ("queued", 0, 3)
    seen = observe(monkeypatch, engine, [req.pk])
    worker.run(req.pk)

    assert seen == [
        ("step", ("generating", 1, 3)),
        ("step", ("generating", 2, 3)),
        ("step", ("generating", 3, 3)),
        ("assess", ("postprocessing", 3, 3)),
        ("step", ("reseeding", 1, 3)),
        ("step", ("reseeding", 2, 3)),
        ("step", ("reseeding", 3, 3)),
        ("assess", ("postprocessing", 3, 3)),
        ("store", ("storing", 3, 3)),
    ]
    req.refresh_from_db()
    # Finished: it keeps the phase it finished in, and what it cost the worker is measured.
    assert (req.status, req.phase) == (Status.SUCCEEDED, Phase.STORING)
    assert 0 < req.gpu_seconds <= req.work_seconds


def test_the_rows_of_a_batch_wait_in_postprocessing_while_another_is_finished(engine, monkeypatch):
    product = make_product(brand=make_brand(min_consistency_score=0))
    first = submit(product, seed=1, description="Sunset landscape with mountains")
    second = submit(product, seed=2, description="Constellation map of the northern sky in gold")
    seen = observe(monkeypatch, engine, [first.pk, second.pk])
    worker.run(first.pk)

    assert seen[0] == ("step", ("generating", 1, 3), ("generating", 1, 3))  # one batched call
    stores = [entry[1:] for entry in seen if entry[0] == "store"]
    assert stores == [(("storing", 3, 3), ("postprocessing", 3, 3)), (("storing", 3, 3), ("storing", 3, 3))]
    assert set(GenerationRequest.objects.values_list("status", "phase")) == {
        (Status.SUCCEEDED, Phase.STORING)
    }


def test_a_cache_hit_never_waited_for_a_worker(engine):
    product = make_product(brand=make_brand(min_consistency_score=0))
    first = submit(product, seed=3)
    worker.run(first.pk)
    again = submit(product, seed=3)
    assert again.cache_source_id == first.pk
    assert (again.status, again.phase, again.eta_at_submit) == (Status.SUCCEEDED, "", None)
    assert state(again.pk)[0] == ""


def test_submit_records_the_eta_shown_and_a_refusal_has_no_phase(tiny_model):
    product = make_product(brand=make_brand(banned_terms="zebra"))
    queued = submit(product)
    stored = GenerationRequest.objects.get(pk=queued.pk)
    assert stored.phase == Phase.QUEUED and stored.eta_at_submit is not None
    assert stored.eta_at_submit == queued.eta_at_submit == eta.wait_for(stored).eta_seconds
    refused = submit(product, description="a zebra on a bicycle")
    assert (refused.status, refused.phase, refused.eta_at_submit) == (Status.REJECTED, "", None)


def test_cancels_retries_and_requeues_keep_sensible_phases(tiny_model):
    product = make_product()
    waiting = generation_request_cancel(generation=submit(product, seed=1))
    assert (waiting.status, waiting.phase) == (Status.CANCELLED, Phase.QUEUED)  # cancelled while queued
    assert generation_request_retry(generation=waiting).phase == Phase.QUEUED

    running = lifecycle.generation_claim(request_id=submit(product, seed=2).pk, worker="gpu:1")
    assert running.phase == Phase.GENERATING
    lifecycle.generation_phase(request_ids=[running.pk], worker="gpu:1", phase=Phase.STORING)
    assert lifecycle.generation_fail(request_id=running.pk, worker="gpu:1", code="storage_error", message="x")
    assert GenerationRequest.objects.get(pk=running.pk).phase == Phase.STORING  # where it failed
    # A finished row is never moved to another phase.
    assert lifecycle.generation_phase(request_ids=[running.pk], worker="gpu:1", phase=Phase.GENERATING) == 0

    lost = lifecycle.generation_claim(request_id=submit(product, seed=3).pk, worker="gpu:2")
    GenerationRequest.objects.filter(pk=lost.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    lifecycle.sweep_expired_leases()
    assert GenerationRequest.objects.values_list("status", "phase").get(pk=lost.pk) == (
        Status.QUEUED,
        Phase.QUEUED,
    )

    stopped = lifecycle.generation_claim(request_id=submit(product, seed=4).pk, worker="gpu:3")
    assert lifecycle.generation_release(request_id=stopped.pk, worker="gpu:3")
    assert GenerationRequest.objects.get(pk=stopped.pk).phase == Phase.QUEUED
