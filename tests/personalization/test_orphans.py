"""Orphan files (issue 14): stored customer files whose row never came, found by their deterministic
keys on the private storage (local, or S3 in CI), deleted by the sweep, and the reconciliation
counts. A fake clock (``now=``) ages the files instead of waiting."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from PIL import Image

from personalization import orphans, postprocess, reconcile, tasks, worker
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from personalization.storage import private_storage, request_prefix, store_bytes
from tests.factories import make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
LATER = timedelta(hours=2)  # past the default grace period (an hour)


class RolledBack(Exception):
    pass


def png_upload():
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "ref.png"
    return buffer


def submit(product, **kw) -> GenerationRequest:
    params = {"base_color": "White", "description": "Geometric wolf head", "steps": 3, "size": 64}
    return generation_request_create(product=product, session_key="visitor-orphans", **{**params, **kw})


@pytest.fixture
def product(tiny_model, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SAFETY_CHECK": False}
    p = make_product()
    p.brand.min_consistency_score = 0
    p.brand.save()
    return p


@pytest.fixture
def rolled_back(product) -> str:
    """The reference picture of a submit whose transaction rolled back after the file was written."""
    names = []
    with pytest.raises(RolledBack), transaction.atomic():
        req = submit(product, seed=3, reference_image=png_upload(), strength=0.5)
        names.append(req.reference_image.name)
        raise RolledBack
    [name] = names
    assert not GenerationRequest.objects.filter(pk=req.pk).exists() and private_storage.exists(name)
    return name


def mine(name: str) -> tuple[str]:
    """The roots of one request's folder (S3 runs share a bucket with other tests' files)."""
    return (name.rsplit("/", 1)[0],)


def test_a_rolled_back_submits_file_is_an_orphan_and_is_deleted(rolled_back):
    found = orphans.orphan_files(now=timezone.now() + LATER, roots=mine(rolled_back))
    assert [item.name for item in found] == [rolled_back]
    assert found[0].size == private_storage.size(rolled_back) > 0
    assert orphans.orphan_files_delete(now=timezone.now() + LATER, roots=mine(rolled_back)) == (
        1,
        found[0].size,
    )
    assert not private_storage.exists(rolled_back)


def test_a_young_orphan_is_never_listed(rolled_back):
    assert orphans.orphan_files(roots=mine(rolled_back)) == []  # a write whose row may be on its way
    assert orphans.orphan_files_delete(roots=mine(rolled_back)) == (0, 0)
    assert private_storage.exists(rolled_back)


def test_a_referenced_file_is_never_listed(product):
    req = submit(product, seed=4, reference_image=png_upload(), strength=0.5)
    name = req.reference_image.name
    assert orphans.orphan_files(older_than=0, now=timezone.now() + LATER, roots=mine(name)) == []
    assert orphans.orphan_files_delete(older_than=0, now=timezone.now() + LATER, roots=mine(name)) == (0, 0)
    assert private_storage.exists(name)
    # A file another request's row names (a cached answer shares the earlier request's pictures).
    shared = store_bytes(f"{request_prefix(req.pk)}/0/design.png", b"png")
    other = submit(product, seed=5)
    GenerationRequest.objects.filter(pk=other.pk).update(preview=shared)
    assert orphans.orphan_files(older_than=0, now=timezone.now() + LATER, roots=mine(shared)) == []


def test_a_failure_between_the_design_and_its_mockup_is_swept_after_the_request_fails(
    product, monkeypatch, settings
):
    """The worker stores a variation's design, then its mockup fails for good: the request fails
    (storage_error) and its design file is left with no row; the next hourly sweep removes it."""
    monkeypatch.setattr(worker, "storage_sleep", lambda seconds: None)
    req = submit(product, seed=6)
    original = postprocess.store_bytes

    def store(name, data):
        if name.endswith("mockup.png"):
            raise OSError(28, "No space left on device")
        return original(name, data)

    monkeypatch.setattr(postprocess, "store_bytes", store)
    assert worker.run(req.pk) == "succeeded 0 of 1"
    req.refresh_from_db()
    assert (req.status, req.error_code) == (Status.FAILED, "storage_error")
    design = f"{request_prefix(req.pk)}/0/design.png"
    assert private_storage.exists(design)  # left behind: no GenerationImage row names it
    roots = (request_prefix(req.pk),)
    assert [item.name for item in orphans.orphan_files(now=timezone.now() + LATER, roots=roots)] == [design]

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ORPHAN_SWEEP_SECONDS": 3600}
    monkeypatch.setattr(orphans, "ROOTS", roots)
    monkeypatch.setattr(orphans, "_last_sweep", None)
    now = timezone.now() + LATER
    assert tasks.sweep(now=now)["orphans_deleted"] == 1
    assert not private_storage.exists(design)
    assert tasks.sweep(now=now + timedelta(minutes=10))["orphans_deleted"] is None  # once an hour


def test_the_sweep_deletes_no_orphans_when_turned_off(rolled_back, monkeypatch):
    monkeypatch.setattr(orphans, "ROOTS", mine(rolled_back))
    monkeypatch.setattr(orphans, "_last_sweep", None)
    assert orphans.conf.ORPHAN_SWEEP_SECONDS == 0  # the test settings
    assert orphans.orphan_sweep(now=timezone.now() + LATER) is None
    assert private_storage.exists(rolled_back)


def test_reconcile_counts_stuck_requests_orphans_and_missing_line_files(product, rolled_back, monkeypatch):
    monkeypatch.setattr(orphans, "ROOTS", mine(rolled_back))
    now = timezone.now()
    assert reconcile.reconcile(now=now) == {
        "running_stuck": 0,
        "queued_stuck": 0,
        "run_twice": 0,
        "orphan_files": 0,  # young
        "line_files_missing": 0,
        "print_files_failed": 0,
    }
    assert reconcile.reconcile(now=now, orphans_older_than=0)["orphan_files"] == 1  # any age
    queued = submit(product, seed=8)
    running = submit(product, seed=9)
    GenerationRequest.objects.filter(pk=running.pk).update(
        status=Status.RUNNING, lease_expires_at=now - timedelta(minutes=1)
    )
    counts = reconcile.reconcile(now=now + LATER)
    assert counts == {
        "running_stuck": 1,
        "queued_stuck": 1,
        "run_twice": 0,
        "orphan_files": 1,
        "line_files_missing": 0,
        "print_files_failed": 0,
    }
    assert reconcile.reconcile(now=now + LATER, stuck_after=3 * 3600)["queued_stuck"] == 0
    GenerationRequest.objects.filter(pk=queued.pk).update(status=Status.CANCELLED)
    assert reconcile.reconcile(now=now + LATER)["queued_stuck"] == 0
    with pytest.raises(SystemExit) as exited:
        call_command("personalization_reconcile", "--stuck-after", "0")  # the expired lease
    assert exited.value.code == 1
    GenerationRequest.objects.filter(pk=running.pk).update(status=Status.FAILED, lease_expires_at=None)
    call_command("personalization_reconcile")  # all zero (the orphan is young): exits 0


def test_the_orphans_command_prints_the_count_and_deletes(rolled_back, monkeypatch, capsys):
    monkeypatch.setattr(orphans, "ROOTS", mine(rolled_back))
    call_command("personalization_orphans", "--older-than", "0")
    size = private_storage.size(rolled_back)
    assert f"orphan files: 1 ({size} bytes)" in capsys.readouterr().out
    call_command("personalization_orphans", "--older-than", "0", "--delete")
    assert f"orphan files deleted: 1 ({size} bytes)" in capsys.readouterr().out
    assert not private_storage.exists(rolled_back)


def test_reconcile_counts_an_ordered_design_whose_file_is_gone(monkeypatch):
    from tests.fulfilment_helpers import make_export_order, order_design

    design = order_design(make_export_order(render=False))
    monkeypatch.setattr(orphans, "ROOTS", mine(design.image.name))
    assert reconcile.line_designs_missing_files() == []
    private_storage.delete(design.mockup.name)  # the storage lost it
    assert reconcile.line_designs_missing_files() == [design.pk]
    assert reconcile.reconcile()["line_files_missing"] == 1


def test_reconcile_counts_requests_claimed_past_the_attempts_or_holding_extra_variations(product):
    """ "None run twice": a request claimed more often than MAX_ATTEMPTS, or with a variation it did not
    ask for (a second run's pictures), is counted; one retried within its attempts is not."""
    from personalization.conf import conf
    from personalization.models import GenerationImage

    retried, claimed_too_often, doubled = (submit(product, seed=n) for n in (31, 32, 33))
    GenerationRequest.objects.filter(pk=retried.pk).update(attempts=conf.MAX_ATTEMPTS)
    GenerationRequest.objects.filter(pk=claimed_too_often.pk).update(attempts=conf.MAX_ATTEMPTS + 1)
    for index in (0, 1):  # one variation asked for, two stored
        GenerationImage.objects.create(
            request=doubled, index=index, seed=index, width=64, height=64, image=f"x/{index}.png"
        )
    assert reconcile.requests_run_twice() == sorted([claimed_too_often.pk, doubled.pk])
    assert reconcile.reconcile()["run_twice"] == 2
    with pytest.raises(SystemExit):
        call_command("personalization_reconcile", "--orphan-grace", "0")
