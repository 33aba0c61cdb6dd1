"""A failing print job is tried a bounded number of times, backing off, then its design's print file
is failed: never given out (the fulfilment document says ``print_file_failed``, even when an earlier
job left a file), counted by the reconciliation, shown in the admin, and retried by the shop owner
through ``print_queue.line_design_print_retry`` (the admin action calls it)."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from personalization import fulfilment, print_queue, reconcile
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.print_jobs import line_design_print_job, retry_delay
from tests.factories import make_product, make_user
from tests.foundation_helpers import make_generation, make_order, png_bytes

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:personalization_linedesign_changelist")


@pytest.fixture(autouse=True)
def woken(monkeypatch):
    """The print jobs' wake-ups (no broker here), as design ids."""
    calls = []
    monkeypatch.setattr("personalization.queue.enqueue_print_file", calls.append)
    return calls


@pytest.fixture(autouse=True)
def three_tries(settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PRINT_MAX_ATTEMPTS": 3, "LEASE_SECONDS": 60}


def ordered_line() -> LineDesign:
    """An approved order line (the automatic policy) whose print job is owed."""
    product = make_product(print_width_mm=20, print_height_mm=20, print_dpi=150, min_dpi=150)
    generation = make_generation(product, status=GenerationRequest.Status.SUCCEEDED, progress_step=25)
    image = GenerationImage(request=generation, index=0, seed=generation.seed, width=64, height=64)
    image.image.save("design.png", ContentFile(png_bytes("#AA3355", size=(64, 64))), save=False)
    image.mockup.save("mockup.png", ContentFile(png_bytes("#DDDDDD", size=(64, 64))), save=False)
    image.save()
    order = make_order(product, design=image)
    line = LineDesign.objects.get(order_line__order=order)
    assert line.print_job_wake_at is not None and line.print_job_attempts == 0
    return line


@pytest.fixture
def design():
    return ordered_line()


def lose_picture(design: LineDesign) -> bytes:
    """Delete the design's picture from the storage (every try fails); returns its bytes."""
    with design.image.open("rb") as fh:
        data = fh.read()
    design.image.storage.delete(design.image.name)
    return data


def document(design: LineDesign) -> dict:
    return fulfilment.line_fulfilment(design, quantity=1, variant={}, url_for=lambda field: field.name)


def fail_until_given_up(design: LineDesign) -> LineDesign:
    for _ in range(3):
        design = line_design_print_job(design_id=design.pk)
    return design


def test_a_failing_job_backs_off_then_its_print_file_is_failed(design):
    lose_picture(design)
    delays = []
    for tries in (1, 2):
        before = timezone.now()
        design = line_design_print_job(design_id=design.pk)
        assert design.print_job_attempts == tries and design.print_job_failed_at is None
        assert design.print_job_error_code == "design_file_missing"
        assert design.image.name in design.print_job_error_message
        delays.append(design.print_job_wake_at - before)
        # Not woken again before its time; woken (once) when it comes.
        assert print_queue.print_jobs_wake(now=before + retry_delay(tries) - timedelta(seconds=5)) == 0
    assert retry_delay(1) == timedelta(seconds=120) and retry_delay(2) == timedelta(seconds=240)
    assert [round(d.total_seconds() / 60) for d in delays] == [2, 4]

    design = line_design_print_job(design_id=design.pk)
    assert design.print_job_attempts == 3
    assert design.print_job_failed_at is not None and design.print_job_wake_at is None
    assert (design.print_job_error_code, print_queue.print_state(design)) == ("design_file_missing", "failed")
    # Given up: the sweeper never wakes it again, and a stale message does nothing.
    assert print_queue.print_jobs_wake(now=timezone.now() + timedelta(days=30)) == 0
    assert line_design_print_job(design_id=design.pk).print_job_attempts == 3
    assert reconcile.reconcile()["print_files_failed"] == 1


def test_a_failed_print_file_is_never_ready_even_with_an_older_file(design):
    design = line_design_print_job(design_id=design.pk)  # the checkout's job: files stored
    assert design.print_file and document(design)["status"] == fulfilment.READY
    # Owed again (as an approval does) and this time every try fails.
    LineDesign.objects.filter(pk=design.pk).update(**print_queue.owed_fields())
    lose_picture(design)
    design = fail_until_given_up(LineDesign.objects.get(pk=design.pk))
    assert design.print_file  # the old file is still stored ...
    doc = document(design)  # ... and never given out
    assert doc["status"] == fulfilment.FAILED == "print_file_failed"
    png, pdf, _ = doc["files"]
    assert (png["status"], png["url"], pdf["status"], pdf["url"]) == ("failed", None, "failed", None)
    assert doc["placements"][0]["layers"][0]["url"] is None
    assert [name for name, _ in fulfilment.fulfilment_files(design)] == ["mockup.png"]


def test_tries_used_up_by_lost_workers_fail_without_rendering(design):
    # Three jobs started (each counted) and none finished: their worker was killed mid-job.
    LineDesign.objects.filter(pk=design.pk).update(print_job_attempts=F("print_job_attempts") + 3)
    design = line_design_print_job(design_id=design.pk)
    assert design.print_job_error_code == "worker_lost" and design.print_job_failed_at is not None
    assert not design.print_file


def test_the_owner_retries_a_failed_print_file(design, woken, django_capture_on_commit_callbacks):
    data = lose_picture(design)
    design = fail_until_given_up(design)
    with django_capture_on_commit_callbacks(execute=True):
        design = print_queue.line_design_print_retry(design=design)
    assert woken == [design.pk]
    assert design.print_job_failed_at is None and design.print_job_attempts == 0
    assert design.print_job_wake_at is not None and print_queue.print_state(design) == "pending"
    assert document(design)["status"] == fulfilment.PENDING
    design.image.storage.save(design.image.name, ContentFile(data))  # the picture is back
    design = line_design_print_job(design_id=design.pk)
    assert print_queue.print_state(design) == "ready" and design.print_job_error_code == ""
    assert document(design)["status"] == fulfilment.READY
    with pytest.raises(print_queue.NotPrintFailed):
        print_queue.line_design_print_retry(design=design)


def test_the_admin_lists_filters_shows_and_retries_failed_print_files(design, woken):
    ordered_line()  # a second, healthy design
    lose_picture(design)
    design = fail_until_given_up(design)
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))

    failed = client.get(CHANGELIST, {"print_file_state": "failed"})
    assert failed.status_code == 200
    assert list(failed.context["cl"].result_list) == [design]
    assert "Failed: design_file_missing" in failed.content.decode()
    index = client.get(reverse("admin:index")).content.decode()  # the admin index says so too
    assert 'data-print-files-failed="1"' in index and "?print_file_state=failed" in index
    review = client.get(reverse("admin:personalization_linedesign_review", args=[design.pk]))
    assert "data-print-file-failed" in review.content.decode()
    assert "design_file_missing" in review.content.decode()

    selected = [str(pk) for pk in LineDesign.objects.values_list("pk", flat=True)]
    assert len(selected) == 2
    response = client.post(
        CHANGELIST, {"action": "retry_print_files", "_selected_action": selected}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "Retrying the print file of 1 design(s): a worker makes it now." in messages
    assert any("had no failed print file" in m for m in messages)
    design.refresh_from_db()
    assert design.print_job_failed_at is None and design.print_job_wake_at is not None
    assert not client.get(CHANGELIST, {"print_file_state": "failed"}).context["cl"].result_list
    assert "data-print-files-failed" not in client.get(reverse("admin:index")).content.decode()
