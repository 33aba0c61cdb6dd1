"""Staff's retry (services.generation_request_retry): a request that failed for the shop's reasons or
was cancelled goes back to the queue on the same row, once, enqueued after the commit, charging no
quota; anything else is refused with the reason."""

import pytest
from django.utils import timezone

from personalization import limits, queue
from personalization.lifecycle import REFUNDED_CODES, generation_claim, generation_fail
from personalization.models import GenerationRequest, UsageCounter
from personalization.services import InvalidTransition, generation_request_create, generation_request_retry
from tests.factories import make_product
from tests.foundation_helpers import make_generation

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


@pytest.fixture
def enqueued(monkeypatch) -> list:
    woken = []
    monkeypatch.setattr(queue, "enqueue_generation", woken.append)
    return woken


@pytest.fixture
def product():
    return make_product(slug="retry-tee")


def failed(product, *, code="gpu_oom", **fields) -> GenerationRequest:
    now = timezone.now()
    return make_generation(
        product,
        status=Status.FAILED,
        error_code=code,
        error_message="The shop failed.",
        attempts=3,
        progress_step=12,
        preview="personalization/old-preview.png",
        worker="gpu-1",
        lease_expires_at=now,
        started_at=now,
        finished_at=now,
        cancel_requested=True,
        **fields,
    )


@pytest.mark.parametrize("code", sorted(REFUNDED_CODES))
def test_a_shop_side_failure_goes_back_to_the_queue_on_the_same_row(
    product, enqueued, code, django_capture_on_commit_callbacks
):
    req = failed(product, code=code)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        generation_request_retry(generation=req)
        assert enqueued == []  # not before the commit
    assert len(callbacks) == 1 and enqueued == [req.pk]
    row = GenerationRequest.objects.get(pk=req.pk)
    assert (row.status, row.attempts, row.error_code, row.error_message) == (Status.QUEUED, 0, "", "")
    assert (row.progress_step, row.preview.name, row.worker) == (0, "", "")
    assert (row.started_at, row.finished_at, row.lease_expires_at, row.cancel_requested) == (
        None,
        None,
        None,
        False,
    )
    assert GenerationRequest.objects.count() == 1


def test_a_cancelled_request_is_retried(product, enqueued, django_capture_on_commit_callbacks):
    req = make_generation(product, status=Status.CANCELLED, error_code="cancelled", cancel_requested=True)
    with django_capture_on_commit_callbacks(execute=True):
        generation_request_retry(generation=req)
    req.refresh_from_db()
    assert (req.status, req.error_code, req.cancel_requested) == (Status.QUEUED, "", False)
    assert enqueued == [req.pk]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": Status.SUCCEEDED}, "succeeded design is not made again"),
        ({"status": Status.REJECTED, "error_code": "banned_term"}, "refused by the content policy"),
        ({"status": Status.FAILED, "error_code": "invalid_reference"}, "other than the shop's"),
        ({"status": Status.QUEUED}, "being made already"),
        ({"status": Status.RUNNING, "worker": "gpu-1"}, "being made already"),
    ],
)
def test_other_requests_are_refused_with_the_reason(
    product, enqueued, fields, reason, django_capture_on_commit_callbacks
):
    req = make_generation(product, **fields)
    before = GenerationRequest.objects.filter(pk=req.pk).values().get()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition, match=reason):
        generation_request_retry(generation=req)
    assert GenerationRequest.objects.filter(pk=req.pk).values().get() == before
    assert enqueued == []


def test_two_retries_of_the_same_request_never_both_win(
    product, enqueued, django_capture_on_commit_callbacks
):
    req = failed(product)
    stale = GenerationRequest.objects.get(pk=req.pk)  # a second admin page opened on the failed row
    with django_capture_on_commit_callbacks(execute=True):
        generation_request_retry(generation=req)
        with pytest.raises(InvalidTransition, match="being made already"):
            generation_request_retry(generation=stale)
    assert enqueued == [req.pk]
    assert stale.status == Status.QUEUED  # the refused caller sees the row as it is


def test_a_retry_charges_nothing_and_a_second_failure_refunds_nothing_twice(
    settings, product, enqueued, django_capture_on_commit_callbacks
):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 5, "DAILY_QUOTA_PER_IP": 0}
    key = f"quota:visitor:{limits.subject_hash('v')}"

    def used() -> int:
        return sum(UsageCounter.objects.filter(key=key).values_list("count", flat=True))

    def submit():
        return generation_request_create(
            product=product, base_color="White", description="a fox in the snow", session_key="v"
        )

    submit()
    req = submit()
    assert used() == 2
    assert generation_claim(request_id=req.pk, worker="w1")
    assert generation_fail(request_id=req.pk, worker="w1", code="gpu_oom", message="Out of memory.")
    assert used() == 1  # the shop's failure: given back

    with django_capture_on_commit_callbacks(execute=True):
        generation_request_retry(generation=req)
    assert used() == 1  # staff's retry charges nothing
    assert generation_claim(request_id=req.pk, worker="w2")
    assert generation_fail(request_id=req.pk, worker="w2", code="gpu_oom", message="Out of memory.")
    assert used() == 1  # the charge was given back once already
