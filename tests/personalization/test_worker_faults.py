"""The worker's faults found by fault injection (issue 14), run in-process on the real tiny
pipeline and the test database: a reference picture gone from storage, a graceful stop (SIGTERM)
mid-run, and storage failing after the GPU work."""

import io
import signal

import pytest
from PIL import Image

from personalization import lifecycle, postprocess, worker
from personalization.engine.core import Engine
from personalization.models import GenerationImage, GenerationRequest
from personalization.services import generation_request_create
from personalization.storage import private_storage, request_prefix
from tests.factories import make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


@pytest.fixture
def product(tiny_model):
    p = make_product()
    p.brand.min_consistency_score = 0
    p.brand.save()
    return p


@pytest.fixture
def gpu_calls(tiny_model, monkeypatch) -> list:
    """Each pipeline call (Engine.generate) of this process, recorded."""
    calls = []
    original = Engine.generate

    def generate(self, jobs, **kwargs):
        calls.append(len(jobs))
        return original(self, jobs, **kwargs)

    monkeypatch.setattr(Engine, "generate", generate)
    return calls


def submit(product, **kw) -> GenerationRequest:
    params = {"base_color": "White", "description": "Geometric wolf head", "steps": 3, "size": 64}
    params.update(kw)
    return generation_request_create(product=product, session_key="visitor-faults", **params)


def refunded(req: GenerationRequest) -> bool:
    return bool(req.quota_charges) and all(charge.get("refunded") for charge in req.quota_charges)


# --- 3. a reference picture missing from storage ------------------------------------------------------


def test_a_reference_picture_gone_from_storage_fails_with_input_missing_refunded(product, gpu_calls):
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "ref.png"
    req = submit(product, seed=7, reference_image=buffer, strength=0.5)
    assert req.reference_image and private_storage.exists(req.reference_image.name)
    private_storage.delete(req.reference_image.name)  # the shop lost it
    assert worker.run(req.pk) == "input_missing"
    req.refresh_from_db()
    assert (req.status, req.error_code) == (Status.FAILED, "input_missing")
    assert "upload it again" in req.error_message
    assert "input_missing" in lifecycle.REFUNDED_CODES and refunded(req)
    assert gpu_calls == []  # nothing ran on the GPU


# --- 4. a graceful stop ----------------------------------------------------------------------------


def test_a_graceful_stop_mid_run_releases_the_row_without_using_an_attempt(product, engine_unet, monkeypatch):
    woken = []
    monkeypatch.setattr("personalization.queue.enqueue_generation", woken.append)
    req = submit(product, seed=11)
    calls = {"n": 0}
    original = engine_unet.forward

    def forward_then_sigterm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            worker._on_term(signal.SIGTERM, None)  # the signal handler, as the signal calls it
        return original(*args, **kwargs)

    monkeypatch.setattr(engine_unet, "forward", forward_then_sigterm)
    claimed = lifecycle.generation_claim(request_id=req.pk, worker="me:1")
    assert claimed.attempts == 1
    try:
        assert worker.run_batch([claimed], worker="me:1").startswith("stopped")
    finally:
        worker.stopping.clear()
    req.refresh_from_db()
    assert (req.status, req.attempts, req.worker, req.lease_expires_at) == (Status.QUEUED, 0, "", None)
    assert woken == [req.pk] and not req.images.exists()
    monkeypatch.setattr(engine_unet, "forward", original)
    assert worker.run(req.pk) == "succeeded 1 of 1"  # the next worker makes it on its first attempt
    req.refresh_from_db()
    assert (req.status, req.attempts) == (Status.SUCCEEDED, 1)


@pytest.fixture
def engine_unet(tiny_model):
    return worker.engine().pipeline.unet


def test_sigterm_during_a_task_is_held_until_the_task_ends_then_delivered():
    """graceful_stop: the signal only sets ``stopping`` while the task runs; afterwards the handler
    that was in place (django-q2's default: exit) gets it."""
    delivered = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: delivered.append(signum))
    try:
        with worker.graceful_stop():
            signal.raise_signal(signal.SIGTERM)
            assert worker.stopping.is_set() and delivered == []
        assert delivered == [signal.SIGTERM] and not worker.stopping.is_set()
        with worker.graceful_stop():
            pass
        assert delivered == [signal.SIGTERM]  # no stop asked: nothing delivered
    finally:
        signal.signal(signal.SIGTERM, before)
        worker.stopping.clear()


# --- 5. storage failing after generation ---------------------------------------------------------------


def failing_save(monkeypatch, *, fails: int | None, only: str = "") -> dict:
    """The private storage's _save fails ``fails`` times (None: always) for names containing
    ``only``, then works; live previews are left alone."""
    state = {"failed": 0}
    private_storage.exists("setup")  # the lazy storage's real one, patched below
    storage = private_storage._wrapped
    original = storage._save

    def _save(name, content):
        if "preview" not in name and only in name and (fails is None or state["failed"] < fails):
            state["failed"] += 1
            raise OSError(28, "No space left on device")
        return original(name, content)

    monkeypatch.setattr(storage, "_save", _save)
    return state


def test_storage_failing_twice_is_retried_and_the_request_succeeds_without_a_gpu_rerun(
    product, gpu_calls, monkeypatch
):
    waits = []
    monkeypatch.setattr(worker, "storage_sleep", waits.append)
    req = submit(product, seed=21, variations=2)
    state = failing_save(monkeypatch, fails=2)
    assert worker.run(req.pk) == "succeeded 1 of 1"
    req.refresh_from_db()
    assert req.status == Status.SUCCEEDED and req.images.count() == 2
    assert state["failed"] == 2 and waits == [0.5, 1.0]  # backoff, the pictures kept in memory
    assert gpu_calls == [1]  # one pipeline call: the GPU work was not redone
    assert all(private_storage.exists(image.image.name) for image in req.images.all())


def test_storage_failing_for_good_fails_with_storage_error_and_leaves_no_orphans(
    product, gpu_calls, monkeypatch
):
    waits = []
    monkeypatch.setattr(worker, "storage_sleep", waits.append)
    req = submit(product, seed=22, variations=2)
    failing_save(monkeypatch, fails=None, only="/1/")  # the first variation stores, the second never
    assert worker.run(req.pk) == "succeeded 0 of 1"
    req.refresh_from_db()
    assert (req.status, req.error_code) == (Status.FAILED, "storage_error")
    assert "storage_error" in lifecycle.REFUNDED_CODES and refunded(req)
    assert len(waits) == 3 and gpu_calls == [1]
    assert not GenerationImage.objects.filter(request=req).exists()
    _dirs, files = private_storage.listdir(f"{request_prefix(req.pk)}/0")
    assert files == []  # the first variation's files went with it


# --- 6. the database connection dropped between a stored file and its row -----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_dropped_after_a_file_is_stored_is_reopened_and_the_row_written(
    product, gpu_calls, monkeypatch
):
    """Found by the fault suite (scripts/faults.py, ``db_dropped``): the retries used to fail on the dead
    connection, so the GPU work was lost and the request waited for its lease to end (attempt 2)."""
    from django.db import connection

    waits = []
    monkeypatch.setattr(worker, "storage_sleep", waits.append)
    original = postprocess.store_variation
    dropped = []

    def store_then_drop(**kwargs):
        if not dropped:  # the file goes in, then the connection is gone before its row
            dropped.append(kwargs["index"])
            connection.ensure_connection()
            connection.connection.close()
        return original(**kwargs)

    monkeypatch.setattr(postprocess, "store_variation", store_then_drop)
    # The row is committed (a transactional test): no wake-up, or a live worker of this test session
    # (tests/worker_fixtures.py) may claim it first and this process finds "nothing to do".
    monkeypatch.setattr("personalization.queue.enqueue_generation", lambda request_id: True)
    req = submit(product, seed=23)
    assert worker.run(req.pk) == "succeeded 1 of 1"
    req.refresh_from_db()
    assert (req.status, req.attempts) == (Status.SUCCEEDED, 1) and dropped == [0]
    assert len(waits) == 1 and gpu_calls == [1]  # one retry, no GPU rerun
    [image] = req.images.all()
    assert private_storage.exists(image.image.name) and private_storage.exists(image.mockup.name)
