"""The worker's code path run in this process (real tiny pipeline, real database), for what needs
a hook into the pipeline: out-of-memory, batching, the result cache and brand LoRAs."""

import io

import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from PIL import Image

from personalization import worker
from personalization.engine.core import SCHEDULER_NAME
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


@pytest.fixture
def engine(tiny_model):
    return worker.engine()


@pytest.fixture
def product(tiny_model):
    p = make_product()
    p.brand.min_consistency_score = 0
    p.brand.save()
    return p


def submit(product, **kw) -> GenerationRequest:
    params = {
        "base_color": "White",
        "description": "Geometric wolf head made of triangles",
        "steps": 3,
        "size": 64,
    }
    params.update(kw)
    return generation_request_create(product=product, **params)


def pixels(field) -> np.ndarray:
    with field.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"), dtype=np.float32)


def test_scheduler_names_agree(product):
    """The engine's scheduler is the one the submitted row (its recipe) names."""
    assert submit(product).scheduler_name == SCHEDULER_NAME


def test_out_of_memory_fails_with_gpu_oom_and_the_next_request_succeeds(product, engine, monkeypatch):
    unet = engine.pipeline.unet
    original = unet.forward
    calls = {"n": 0}

    def forward_that_runs_out_of_memory(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return original(*args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward_that_runs_out_of_memory)
    first = submit(product, seed=1)
    worker.run(first.pk)
    first.refresh_from_db()
    assert first.status == Status.FAILED and first.error_code == "gpu_oom"
    assert "GPU memory" in first.error_message

    second = submit(product, seed=2)
    worker.run(second.pk)
    second.refresh_from_db()
    assert second.status == Status.SUCCEEDED and second.images.count() == 1


def test_a_design_made_with_the_check_off_never_answers_from_the_cache(product, engine, settings):
    first = submit(product, seed=5)
    worker.run(first.pk)
    first.refresh_from_db()
    assert first.status == Status.SUCCEEDED and first.images.get().safety["checked"] is True
    first.images.update(safety={"checked": False})  # as if made while SAFETY_CHECK was off
    again = submit(product, seed=5)
    assert again.status == Status.QUEUED and again.cache_source is None
    first.images.update(safety={"checked": True})
    third = submit(product, seed=5)
    assert third.status == Status.SUCCEEDED and third.cache_source_id == first.pk
    assert third.images.get().safety == {"checked": True}  # what was found travels with the images


def test_cache_hit_runs_no_pipeline(product, engine, monkeypatch, django_capture_on_commit_callbacks):
    first = submit(product, seed=3, variations=2)
    worker.run(first.pk)
    first.refresh_from_db()
    assert first.status == Status.SUCCEEDED

    def must_not_run(*args, **kwargs):
        raise AssertionError("the pipeline must not run on a cache hit")

    monkeypatch.setattr(engine, "generate", must_not_run)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = submit(product, seed=3, variations=2)
    assert callbacks == []  # nothing queued
    assert again.status == Status.SUCCEEDED and again.cache_source_id == first.pk
    assert [i.image.name for i in again.images.all()] == [i.image.name for i in first.images.all()]
    # A different seed is a different request.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        other = submit(product, seed=4, variations=2)
    assert other.status == Status.QUEUED and len(callbacks) == 1


def test_batched_run_gives_the_same_images_as_unbatched_runs(product, engine, monkeypatch):
    a = submit(product, seed=10, description="Sunset landscape with mountains")
    b = submit(product, seed=20, variations=2, description="Constellation map of the northern sky in gold")
    calls = []
    original = engine.generate

    def counting_generate(jobs, **kwargs):
        calls.append(len(jobs))
        return original(jobs, **kwargs)

    monkeypatch.setattr(engine, "generate", counting_generate)
    worker.run(a.pk)
    a.refresh_from_db()
    b.refresh_from_db()
    assert calls == [2]  # both requests in ONE pipeline call
    assert a.status == b.status == Status.SUCCEEDED and a.worker == b.worker

    batched = {(r.pk, i.index): pixels(i.image) for r in (a, b) for i in r.images.all()}
    for req in (a, b):
        GenerationRequest.objects.filter(pk=req.pk).update(cache_key="forced-rerun")
        alone = submit(product, seed=req.seed, variations=req.variations, description=req.description)
        worker.run(alone.pk)
        alone.refresh_from_db()
        assert alone.status == Status.SUCCEEDED
        for image in alone.images.all():
            np.testing.assert_allclose(pixels(image.image), batched[(req.pk, image.index)], atol=2)
    assert calls[1:] == [1, 1]


def test_brand_lora_is_applied_for_its_brand_only(tiny_model, engine, tmp_path):
    from personalization.engine.tiny import build_tiny_lora

    lora_file = build_tiny_lora(tiny_model, tmp_path / "brand.safetensors")
    plain = make_product(brand=make_brand(min_consistency_score=0))
    branded = make_product(brand=make_brand(min_consistency_score=0, lora_scale=1.0))
    branded.brand.lora_weights.save("brand.safetensors", ContentFile(lora_file.read_bytes()))

    base = submit(plain, seed=42)
    worker.run(base.pk)
    with_lora = submit(branded, seed=42)
    worker.run(with_lora.pk)
    GenerationRequest.objects.filter(pk=base.pk).update(cache_key="forced-rerun")
    base_again = submit(plain, seed=42)
    worker.run(base_again.pk)

    for r in (base, with_lora, base_again):
        r.refresh_from_db()
        assert r.status == Status.SUCCEEDED, r.error_message
    base_px = pixels(base.images.get().image)
    assert np.abs(pixels(with_lora.images.get().image) - base_px).mean() > 1.0
    np.testing.assert_allclose(pixels(base_again.images.get().image), base_px, atol=1)


def test_a_lora_that_does_not_fit_fails_with_brand_adapter_error_and_the_next_request_works(
    tiny_model, engine, tmp_path
):
    """A LoRA that passes the upload check (a real safetensors LoRA) but not for this model."""
    from safetensors.torch import load_file, save_file

    from personalization.engine.tiny import build_tiny_lora

    weights = load_file(build_tiny_lora(tiny_model, tmp_path / "brand.safetensors"))
    key = sorted(k for k in weights if "lora_B" in k or "lora.up" in k)[-1]
    weights[key] = torch.randn(weights[key].shape[0] + 3, weights[key].shape[1])  # another model's shape
    save_file(weights, tmp_path / "other-model.safetensors")
    branded = make_product(brand=make_brand(min_consistency_score=0))
    branded.brand.lora_weights.save(
        "other-model.safetensors", ContentFile((tmp_path / "other-model.safetensors").read_bytes())
    )
    branded.brand.full_clean()  # the upload check lets it through: only loading it can tell

    failed = submit(branded, seed=9)
    assert worker.run(failed.pk) == "brand_adapter_error"
    failed.refresh_from_db()
    assert failed.status == Status.FAILED and failed.error_code == "brand_adapter_error"
    assert "LoRA" in failed.error_message and "try again later" in failed.error_message
    plain = submit(make_product(brand=make_brand(min_consistency_score=0)), seed=9)
    worker.run(plain.pk)
    plain.refresh_from_db()
    assert plain.status == Status.SUCCEEDED


def test_off_brand_variation_is_reseeded_once_then_flagged(tiny_model, engine, monkeypatch):
    # A minimum no picture can reach: each variation gets exactly one automatic re-seed, then a flag.
    product = make_product(brand=make_brand(min_consistency_score=100))
    calls = []
    original = engine.generate

    def counting_generate(jobs, **kwargs):
        calls.append([job.seeds for job in jobs])
        return original(jobs, **kwargs)

    monkeypatch.setattr(engine, "generate", counting_generate)
    req = submit(product, seed=500, variations=2)
    worker.run(req.pk)
    req.refresh_from_db()
    assert req.status == Status.SUCCEEDED
    assert calls[0] == [[500, 501]]  # the batched call
    assert [len(c) for c in calls[1:]] == [1, 1] and all(seeds[0][0] not in (500, 501) for seeds in calls[1:])
    for image in req.images.all():
        assert image.flagged is True
        assert image.brand_consistency is not None and image.brand_consistency < 100
        # The stored seed is the kept picture's: the original, or the re-seed when that scored higher.
        if image.reseeded_from is None:
            assert image.seed == 500 + image.index
        else:
            assert image.reseeded_from == 500 + image.index
            assert image.seed == worker.reseed(image.reseeded_from, image.index)


@pytest.mark.parametrize(
    ("given", "compile", "expected"),
    [
        (["768x768x1", " 512X512x2 "], False, [(768, 768, 1), (512, 512, 2)]),
        ([(64, 96, 3)], True, [(64, 96, 3)]),
        ([], False, []),
        ([], True, [(512, 512, 1), (768, 768, 1)]),  # compiled: every size the studio offers
    ],
)
def test_warmup_shapes(settings, given, compile, expected):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WARMUP_SHAPES": given, "COMPILE": compile}
    assert worker.warmup_shapes() == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("768x768", "WIDTHxHEIGHTxIMAGES"),
        ("axbxc", "WIDTHxHEIGHTxIMAGES"),
        ("770x768x1", "multiples of 8"),
        ("768x4096x1", "multiples of 8"),
        ("768x768x0", "MAX_BATCH_IMAGES"),
        ("768x768x99", "MAX_BATCH_IMAGES"),
    ],
)
def test_bad_warmup_shapes_are_refused_with_the_setting_named(settings, given, message):
    from django.core.exceptions import ImproperlyConfigured

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WARMUP_SHAPES": [given]}
    with pytest.raises(ImproperlyConfigured, match=message):
        worker.check_settings()


@pytest.mark.parametrize(("key", "value"), [("ATTENTION", "xformers"), ("COMPILE_MODE", "fastest")])
def test_bad_engine_settings_are_refused_before_the_worker_starts(settings, key, value):
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import CommandError, call_command

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, key: value}
    with pytest.raises(ImproperlyConfigured, match=value):
        worker.check_settings()
    with pytest.raises(CommandError, match=value):
        call_command("run_gpu_worker")  # refuses before it starts any cluster


def test_the_worker_warms_up_its_shapes_once_before_claiming(product, settings, tiny_model, monkeypatch):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WARMUP_SHAPES": ["64x64x2"]}
    eng = worker.engine()
    monkeypatch.setattr(eng, "_warmed", set())  # this process may have warmed before
    warmed, original = [], eng.generate

    def generate(jobs, **kwargs):
        if jobs[0].prompt == "warm-up":
            warmed.append((jobs[0].width, jobs[0].height, len(jobs[0].seeds)))
        return original(jobs, **kwargs)

    monkeypatch.setattr(eng, "generate", generate)
    first, second = submit(product, seed=1), submit(product, seed=2)
    worker.run(first.pk)
    worker.run(second.pk)
    assert sorted(set(warmed)) == [(64, 64, 2)] and len(warmed) == 2  # one shape, its 2 rounds, once
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_step_longer_than_the_lease_keeps_the_lease(product, settings, engine, monkeypatch):
    """A first call that compiles (or any slow step) outlives the lease: the keep-alive thread renews
    it, so a sweeper running meanwhile requeues nothing and the row succeeds on its first attempt."""
    import threading
    from datetime import timedelta

    from django.utils import timezone

    from personalization.lifecycle import sweep_expired_leases

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "LEASE_SECONDS": 1}
    # The row is committed (a transactional test): no wake-up, or a live worker of this test session
    # (tests/worker_fixtures.py) may claim it first.
    monkeypatch.setattr("personalization.queue.enqueue_generation", lambda request_id: True)
    req = submit(product, seed=5)
    unet = engine.pipeline.unet
    original, stalled = unet.forward, []
    swept_past_two_leases = threading.Event()  # the stall ends when the sweeper has looked after it

    def forward(*args, **kwargs):
        if not stalled:
            claimed_until = GenerationRequest.objects.values_list("lease_expires_at", flat=True).get(
                pk=req.pk
            )
            stalled.append(claimed_until + timedelta(seconds=1))  # two leases after the claim
            assert swept_past_two_leases.wait(timeout=60), "the sweeper never ran past the lease"
        return original(*args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward)
    done, sweeps = threading.Event(), []

    def sweeper():
        from django.db import connections

        try:
            while not done.wait(0.2):
                swept_at = timezone.now()
                sweeps.append(sweep_expired_leases(now=swept_at))
                if stalled and swept_at > stalled[0]:
                    swept_past_two_leases.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=sweeper)
    thread.start()
    try:
        worker.run(req.pk)
    finally:
        done.set()
        thread.join()
    req.refresh_from_db()
    assert swept_past_two_leases.is_set()  # a sweep ran when the claim's own lease was long gone
    assert req.status == Status.SUCCEEDED and req.attempts == 1
