"""The output safety check inside the worker (in this process: real tiny pipeline, real database, real
private storage, real detectors). Where a picture must be unsafe, only NudeNet's raw answer is
injected; the decision, the re-seed, the rejection, the clean-up and the quota are the real code."""

import io
import logging

import numpy as np
import pytest
from PIL import Image

from personalization import lifecycle, postprocess, safety, worker
from personalization.conf import conf
from personalization.models import GenerationImage, GenerationRequest
from personalization.review import images_visible_q
from personalization.services import QuotaExceeded, generation_request_create
from personalization.storage import private_storage, request_prefix
from tests.factories import make_brand, make_product, make_user
from tests.personalization.test_safety import FixedDetections, lettering, raw

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
EXPOSED = [raw("FEMALE_BREAST_EXPOSED", 0.91), raw("FACE_FEMALE", 0.88)]


@pytest.fixture
def engine(tiny_model):
    return worker.engine()


@pytest.fixture
def checker(tiny_model):
    return safety.get_checker()


@pytest.fixture
def product(tiny_model):
    return make_product(brand=make_brand(min_consistency_score=0))


def submit(product, **kw) -> GenerationRequest:
    params = {
        "base_color": "White",
        "description": "Geometric fox made of triangles",
        "steps": 3,
        "size": 128,
    }
    params.update(kw)
    return generation_request_create(product=product, **params)


def reload(req) -> GenerationRequest:
    return GenerationRequest.objects.get(pk=req.pk)


def stored_files(req) -> list[str]:
    """Every object under the request's key prefix in the private storage."""
    found = []

    def walk(path):
        try:
            folders, files = private_storage.listdir(path)
        except FileNotFoundError:
            return
        found.extend(f"{path}/{name}" for name in files)
        for folder in folders:
            walk(f"{path}/{folder}")

    walk(request_prefix(req.pk))
    return sorted(found)


def picture(field) -> Image.Image:
    with field.open("rb") as fh:
        return Image.open(io.BytesIO(fh.read())).convert("RGB")


def counting(engine, monkeypatch) -> list:
    calls, original = [], engine.generate

    def counting_generate(jobs, **kwargs):
        calls.append([job.seeds for job in jobs])
        return original(jobs, **kwargs)

    monkeypatch.setattr(engine, "generate", counting_generate)
    return calls


def test_the_tiny_pipelines_pictures_pass_the_real_check_and_the_preview_turns_sharp(
    product, engine, checker, monkeypatch
):
    live = []
    store_preview = postprocess.store_preview

    def recording_store_preview(req, image):
        name = store_preview(req, image)
        with private_storage.open(name, "rb") as fh:
            live.append((image.copy(), Image.open(io.BytesIO(fh.read())).convert("RGB")))
        return name

    monkeypatch.setattr(postprocess, "store_preview", recording_store_preview)
    req = submit(product, seed=11, variations=2)
    assert worker.run(req.pk) == "succeeded 1 of 1"
    req = reload(req)
    assert req.status == Status.SUCCEEDED and req.error_code == ""
    images = list(req.images.order_by("index"))
    assert [i.seed for i in images] == [11, 12] and all(i.reseeded_from is None for i in images)
    for image in images:
        assert image.safety["checked"] is True and image.safety["unsafe"] == []
        assert image.safety["text_violations"] == [] and isinstance(image.safety["detections"], list)
    # While running, every stored preview was the blurred picture, never the sharp one.
    assert live
    for sharp, stored in live:
        expected = np.asarray(postprocess.blurred(sharp), dtype=np.float32)
        np.testing.assert_allclose(np.asarray(stored, dtype=np.float32), expected, atol=1)
    # Once the pictures passed: a sharp thumbnail of the first one.
    np.testing.assert_allclose(
        np.asarray(picture(req.preview), dtype=np.float32),
        np.asarray(picture(images[0].image), dtype=np.float32),
        atol=1,
    )


def test_an_unsafe_variation_is_reseeded_once_then_the_request_is_rejected_with_nothing_stored(
    product, engine, checker, monkeypatch, settings
):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1}
    customer = make_user()
    req = submit(product, seed=40, variations=2, customer=customer)
    # Left over from an earlier attempt (a worker that died after storing a variation): goes too.
    claimed = GenerationRequest.objects.get(pk=req.pk)
    postprocess.store_variation(
        req=claimed,
        index=0,
        image=Image.new("RGB", (128, 128), "grey"),
        seed=40,
        score=None,
        flags=[],
        reseeded_from=None,
        seconds=0.1,
    )
    assert stored_files(req)
    detector = FixedDetections(EXPOSED)
    monkeypatch.setattr(checker, "nudity_detector", detector)
    calls = counting(engine, monkeypatch)

    assert worker.run(req.pk) == "succeeded 0 of 1"
    req = reload(req)
    assert req.status == Status.REJECTED and req.error_code == "unsafe_output"
    assert (
        req.error_message == worker.UNSAFE_MESSAGE and "describe your design differently" in req.error_message
    )
    assert req.finished_at and req.lease_expires_at is None
    assert calls == [[[40, 41]], [[worker.reseed(40, 0)]]]  # the batch, then ONE re-seed of variation 0
    assert detector.calls == 2
    assert not GenerationImage.objects.filter(request=req).exists()  # nothing to show or to order
    assert stored_files(req) == []  # no design, mockup or preview file left in the private storage
    assert not req.preview
    with pytest.raises(QuotaExceeded):  # the rejected request still counts against the quota
        submit(product, seed=99, customer=customer)


def test_a_variation_safe_after_its_reseed_replaces_the_unsafe_one(product, engine, checker, monkeypatch):
    detector = FixedDetections(EXPOSED, [])  # the first picture unsafe, every other one fine
    monkeypatch.setattr(checker, "nudity_detector", detector)
    calls = counting(engine, monkeypatch)
    req = submit(product, seed=70, variations=2)
    worker.run(req.pk)
    req = reload(req)
    assert req.status == Status.SUCCEEDED, req.error_message
    first, second = req.images.order_by("index")
    assert calls == [[[70, 71]], [[worker.reseed(70, 0)]]]
    assert first.seed == worker.reseed(70, 0) and first.reseeded_from == 70
    assert first.safety["unsafe"] == [] and first.safety["replaced"]["seed"] == 70
    assert [d["label"] for d in first.safety["replaced"]["unsafe"]] == ["FEMALE_BREAST_EXPOSED"]
    assert second.seed == 71 and second.reseeded_from is None and "replaced" not in second.safety
    # What is stored is the re-seeded picture: the same as generating that seed directly.
    [[again]] = engine.generate([worker.job_for(req, seeds=[first.seed])])
    np.testing.assert_allclose(
        np.asarray(picture(first.image), dtype=np.float32),
        np.asarray(postprocess.harmonized(again, req).convert("RGB"), dtype=np.float32),
        atol=2,
    )


def test_detections_below_the_threshold_pass_and_are_recorded(product, engine, checker, monkeypatch):
    monkeypatch.setattr(checker, "nudity_detector", FixedDetections([raw("BUTTOCKS_EXPOSED", 0.31)]))
    req = submit(product, seed=5)
    worker.run(req.pk)
    req = reload(req)
    assert req.status == Status.SUCCEEDED
    image = req.images.get()
    assert image.reseeded_from is None and image.safety["unsafe"] == []
    assert image.safety["detections"] == [
        {"label": "BUTTOCKS_EXPOSED", "score": 0.31, "box": [10, 20, 30, 40]}
    ]


# --- text in the picture: the real OCR on a picture with a mark in it ------------------------------
# The tiny pipeline draws noise, so these feed finish_request a lettered picture in place of the
# pipeline's output; everything after the pipeline (checks, review, storage, lifecycle) is real.

WORKER = "test-worker"


def claimed(product, **kw) -> GenerationRequest:
    req = submit(product, **kw)
    return lifecycle.generation_claim(request_id=req.pk, worker=WORKER)


def finish(req, images, engine, checker) -> str:
    return worker.finish_request(req, images, eng=engine, worker=WORKER, per_image=0.1, checker=checker)


def test_a_picture_that_spells_another_companys_mark_is_held_for_review(product, engine, checker):
    assert product.brand.text_in_design_outcome == "review"
    req = claimed(product, seed=3, variations=2)
    outcome = finish(req, [lettering("SUNNY DAY"), lettering("NIKE")], engine, checker)
    assert outcome == "succeeded"
    req = reload(req)
    assert req.status == Status.SUCCEEDED
    assert (
        req.review_state == GenerationRequest.ReviewState.PENDING
        and "“Nike” (a trademark)" in req.review_reason
    )
    assert not GenerationRequest.objects.filter(images_visible_q(), pk=req.pk).exists()  # hidden
    first, second = req.images.order_by("index")
    assert first.safety["text_violations"] == [] and [t["text"] for t in first.safety["text"]] == [
        "SUNNY DAY"
    ]
    assert second.safety["text_violations"] == [{"code": "trademark", "term": "Nike"}]
    assert not req.preview  # no sharp preview of a held design
    from personalization.review import generation_review_approve

    req = generation_review_approve(generation=req)
    assert req.preview  # approved: a sharp thumbnail of the first variation
    with req.preview.open("rb") as fh:
        thumb = Image.open(fh)
        thumb.load()
    assert max(thumb.size) == conf.PREVIEW_SIZE


def test_the_brand_can_reject_text_in_a_design_outright(product, engine, checker):
    product.brand.text_in_design_outcome = "reject"
    product.brand.save()
    req = claimed(product, seed=4)
    assert finish(req, [lettering("NUDE")], engine, checker) == "text_in_design"
    req = reload(req)
    assert req.status == Status.REJECTED and req.error_code == "text_in_design"
    assert "“nude” (a banned term)" in req.error_message
    assert not req.images.exists() and stored_files(req) == [] and not req.preview


def test_the_brands_own_mark_in_the_picture_passes(engine, checker):
    brand = make_brand(min_consistency_score=0, trademark_allowlist="Nike", text_in_design_outcome="reject")
    req = claimed(make_product(brand=brand), seed=6)
    assert finish(req, [lettering("NIKE")], engine, checker) == "succeeded"
    req = reload(req)
    assert req.status == Status.SUCCEEDED and req.review_state == ""
    assert req.images.get().safety["text"][0]["text"] == "NIKE"
    assert req.preview  # checked and visible: the sharp thumbnail


def test_a_protected_name_read_in_the_picture_follows_its_own_outcome(product, engine, checker):
    from brand_guides.models import ProtectedName

    brand = product.brand  # its text setting is "review"; this name says "reject"
    ProtectedName.objects.create(brand=brand, name="Zorblax", kind="character", outcome="reject")
    req = claimed(product, seed=7)
    assert finish(req, [lettering("ZORBLAX")], engine, checker) == "text_in_design"
    req = reload(req)
    assert req.status == Status.REJECTED and "“Zorblax” (a protected name)" in req.error_message
    assert not req.images.exists() and stored_files(req) == []


def test_a_cached_design_is_not_reused_once_its_text_breaks_the_brands_current_lists(engine, checker):
    brand = make_brand(min_consistency_score=0, trademark_allowlist="Nike", text_in_design_outcome="reject")
    product = make_product(brand=brand)
    req = claimed(product, seed=9)
    assert finish(req, [lettering("NIKE")], engine, checker) == "succeeded"
    assert submit(product, seed=9).cache_source_id == req.pk  # same lists: answered from the cache
    brand.trademark_allowlist = ""  # the shop no longer allows the mark
    brand.save()
    again = submit(product, seed=9)
    assert again.status == Status.QUEUED and again.cache_source is None  # drawn and checked afresh


# --- fail closed inside a worker process --------------------------------------------------------


def test_a_worker_whose_checker_cannot_load_fails_requests_without_running_them(
    product, engine, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(safety, "_loaded", None)  # as a fresh worker process
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "SAFETY_NUDITY_MODEL": str(tmp_path / "gone.onnx"),
        "DAILY_QUOTA": 1,
    }
    calls = counting(engine, monkeypatch)
    customer = make_user()
    req = submit(product, seed=8, customer=customer)
    assert worker.run(req.pk) == "safety_unavailable"
    req = reload(req)
    assert req.status == Status.FAILED and req.error_code == "safety_unavailable"
    assert req.error_message == worker.SAFETY_UNAVAILABLE_MESSAGE
    assert calls == [] and not req.images.exists() and stored_files(req) == []
    assert submit(product, seed=80, customer=customer).status == Status.QUEUED  # the shop's fault: refunded


def test_a_detector_that_breaks_mid_request_fails_it_and_stores_nothing(
    product, engine, checker, monkeypatch
):
    class Broken:
        def detect(self, image):
            raise RuntimeError("onnxruntime session lost")

    monkeypatch.setattr(checker, "nudity_detector", Broken())
    req = submit(product, seed=9, variations=2)
    worker.run(req.pk)
    req = reload(req)
    assert req.status == Status.FAILED and req.error_code == "safety_unavailable"
    assert not req.images.exists() and stored_files(req) == [] and not req.preview


def test_with_the_check_turned_off_requests_succeed_unchecked_and_each_is_logged(
    product, engine, settings, caplog
):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_CHECK": False}
    req = submit(product, seed=10)
    with caplog.at_level(logging.WARNING, logger="personalization.worker"):
        worker.run(req.pk)
    req = reload(req)
    assert req.status == Status.SUCCEEDED and req.images.get().safety == {"checked": False}
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(req.pk) in m and "WITHOUT the output safety check" in m for m in messages)
