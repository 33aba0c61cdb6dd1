"""The customer's cancel is a lifecycle transition (``lifecycle.generation_cancel``); the services
and views only check who may cancel."""

import pytest

from personalization import lifecycle
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_product

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


@pytest.fixture
def generation():
    return generation_request_create(
        product=make_product(slug="classic-tee"), base_color="White", description="a fox", session_key="k"
    )


def test_a_queued_request_is_cancelled_at_once(generation):
    assert lifecycle.generation_cancel(request_id=generation.pk) is True
    generation.refresh_from_db()
    assert generation.status == Status.CANCELLED and generation.finished_at is not None
    assert (generation.error_code, generation.error_message) == ("cancelled", "Cancelled by the customer.")
    assert not generation.cancel_requested


def test_a_running_request_is_asked_to_stop_and_the_worker_marks_it_cancelled(generation):
    GenerationRequest.objects.filter(pk=generation.pk).update(status=Status.RUNNING, worker="w1")
    assert lifecycle.generation_cancel(request_id=generation.pk) is True
    generation.refresh_from_db()
    assert generation.status == Status.RUNNING and generation.cancel_requested and not generation.finished_at
    assert lifecycle.generation_mark_cancelled(request_id=generation.pk, worker="w1") is True
    generation.refresh_from_db()
    assert generation.status == Status.CANCELLED


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.CANCELLED])
def test_a_finished_request_is_left_alone(generation, status):
    GenerationRequest.objects.filter(pk=generation.pk).update(status=status)
    assert lifecycle.generation_cancel(request_id=generation.pk) is False
    generation.refresh_from_db()
    assert generation.status == status and not generation.cancel_requested
