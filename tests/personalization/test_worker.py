"""The engine behind the real queue: a real `run_gpu_worker` process, the tiny pipeline, no mocks."""

import contextlib
import io
import os
import signal

import numpy as np
import pytest
from PIL import Image

from personalization.engine.metadata import read_parameters
from personalization.models import GenerationRequest
from personalization.queue import enqueue_generation
from personalization.services import generation_request_cancel, generation_request_create
from tests.factories import make_product
from tests.worker_fixtures import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = GenerationRequest.Status


def submit(product, **kw) -> GenerationRequest:
    params = {"base_color": "White", "description": "A majestic lion on a mountain", "steps": 4, "size": 128}
    params.update(kw)
    return generation_request_create(product=product, **params)


def reload(req) -> GenerationRequest:
    return GenerationRequest.objects.get(pk=req.pk)


def finished(req, timeout=90):
    return wait_until(
        lambda: (r := reload(req)).is_terminal and r, timeout=timeout, message=f"request {req.pk} to finish"
    )


def pixels(field) -> np.ndarray:
    with field.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())).convert("RGB"), dtype=np.int16)


def test_submit_runs_to_success_with_images_previews_and_metadata(gpu_worker):
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    req = submit(product, seed=1234, variations=2)
    assert req.status == Status.QUEUED
    seen = set()

    def done():
        r = reload(req)
        seen.add(r.status)
        return r.is_terminal and r

    r = wait_until(done, timeout=120, interval=0.02, message="success")
    assert r.status == Status.SUCCEEDED, (r.error_code, r.error_message, gpu_worker.output()[-3000:])
    assert Status.QUEUED in seen
    assert r.progress == 1.0 and r.progress_step == r.progress_total == 4
    assert r.attempts == 1 and r.started_at and r.finished_at
    assert r.preview and r.preview.name.endswith("preview.png")
    images = list(r.images.order_by("index"))
    assert [i.seed for i in images] == [1234, 1235]
    for img in images:
        assert img.width == img.height == 128
        assert img.mockup and img.brand_consistency is not None
        with img.image.open("rb") as fh:
            params = read_parameters(fh.read())
        assert params["seed"] == img.seed
        assert params["prompt"].startswith("A majestic lion on a mountain")
        assert params["steps"] == 4 and (params["width"], params["height"]) == (128, 128)
        assert "DPM++ 2M" in params["sampler"]


def test_same_seed_same_image_and_img2img_and_cancel(gpu_worker):
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    first = finished(submit(product, seed=7))
    GenerationRequest.objects.filter(pk=first.pk).update(cache_key="forced-rerun")
    again = finished(submit(product, seed=7))
    assert again.cache_source is None and again.attempts == 1
    assert np.array_equal(pixels(first.images.get().image), pixels(again.images.get().image))

    # img2img: a reference picture steers the result.
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "ref.png"
    ref = finished(submit(product, seed=7, reference_image=buffer, strength=0.5))
    assert ref.status == Status.SUCCEEDED, ref.error_message
    assert ref.reference_sha256 and not np.array_equal(
        pixels(first.images.get().image), pixels(ref.images.get().image)
    )
    assert ref.progress_total == 2  # img2img runs int(steps * strength) steps

    # Cancel while running: the run stops within a step.
    long = submit(product, seed=8, steps=100)
    wait_until(lambda: reload(long).progress_step >= 1, timeout=60, interval=0.02, message="running")
    generation_request_cancel(generation=reload(long))
    r = finished(long)
    assert r.status == Status.CANCELLED and r.progress_step < 100
    assert not r.images.exists()


def test_task_delivered_twice_runs_once(gpu_worker):
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    req = submit(product, seed=5)
    enqueue_generation(req.pk)  # a duplicate delivery
    r = finished(req)
    assert r.status == Status.SUCCEEDED and r.attempts == 1
    assert r.images.count() == 1


def test_kill_9_mid_run_is_recovered_by_the_sweeper(gpu_worker):
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    req = submit(product, seed=9, steps=60)
    running = wait_until(
        lambda: (r := reload(req)).status == Status.RUNNING and r.progress_step >= 1 and r,
        timeout=60,
        interval=0.02,
        message="running",
    )
    os.kill(int(running.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    r = finished(req, timeout=120)
    assert r.status == Status.SUCCEEDED, (r.error_code, gpu_worker.output()[-3000:])
    assert r.attempts == 2


def test_a_request_that_always_kills_its_worker_fails_after_max_attempts(gpu_worker):
    product = make_product()
    req = submit(product, seed=11, steps=100)
    killed = set()

    def kill_when_running():
        r = reload(req)
        if r.status == Status.RUNNING and r.worker and r.attempts not in killed:
            killed.add(r.attempts)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(r.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        return r.is_terminal and r

    r = wait_until(kill_when_running, timeout=180, interval=0.02, message="failure after attempts")
    assert r.status == Status.FAILED
    assert r.error_code == "worker_lost" and "3 times" in r.error_message
    assert r.attempts == 3
