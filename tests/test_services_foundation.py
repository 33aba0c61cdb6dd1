"""Foundation checks of the plugin's rows and the state-changing services the admin calls:
database constraints on generations, variations, frozen designs and idempotency keys; cancel and
rate as state-machine transitions."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apikit.models import IdempotencyKey
from personalization import services
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from tests.factories import make_product, make_user
from tests.foundation_helpers import (
    make_generation,
    make_generation_image,
    make_idempotency_key,
    make_line_design,
    make_order,
)

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


def refused_by_db(callable_) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


@pytest.fixture
def product():
    return make_product()


@pytest.mark.parametrize("rating", [0, 6])
def test_rating_out_of_range(product, rating):
    generation = make_generation(product, status=Status.SUCCEEDED)
    generation.rating = rating
    with pytest.raises(ValidationError):
        generation.full_clean()
    refused_by_db(lambda: GenerationRequest.objects.filter(pk=generation.pk).update(rating=rating))
    with pytest.raises(ValidationError):
        services.generation_request_rate(generation=generation, rating=rating)


@pytest.mark.parametrize("steps", [0, 151])
def test_steps_out_of_range(product, steps):
    with pytest.raises(ValidationError):
        GenerationRequest(
            product=product, brand=product.brand, base_color_name="White", base_color_hex="#FFFFFF",
            description="x", seed=1, steps=steps,
        ).full_clean()  # fmt: skip
    refused_by_db(lambda: make_generation(product, steps=steps, progress_total=0))


@pytest.mark.parametrize(
    "fields",
    [
        {"guidance_scale": 31},
        {"variations": 0},
        {"variations": 9},
        {"strength": 0},
        {"width": 32},
        {"seed": -1},
        {"progress_step": 26, "progress_total": 25},
    ],
    ids=str,
)
def test_generation_request_constraints(product, fields):
    refused_by_db(lambda: make_generation(product, **fields))


def test_generation_image_constraints(product):
    generation = make_generation(product)
    make_generation_image(generation, index=0)
    refused_by_db(lambda: make_generation_image(generation, index=0))  # one row per variation index
    refused_by_db(lambda: make_generation_image(generation, index=1, brand_consistency=101))
    assert str(GenerationImage.objects.get()).startswith("Variation 1 of")


def test_one_frozen_design_per_order_line(product):
    generation = make_generation(product, status=Status.SUCCEEDED)
    image = make_generation_image(generation)
    order = make_order(product, design=image)
    first = LineDesign.objects.get()
    with pytest.raises(ValidationError):  # the service validates first
        make_line_design(first.order_line, image)
    duplicate = {
        f.attname: getattr(first, f.attname) for f in LineDesign._meta.concrete_fields if f.name != "id"
    }
    refused_by_db(lambda: LineDesign.objects.create(**duplicate))  # and the database refuses
    assert order.lines.count() == 2


def test_idempotency_key_unique_per_user_and_scope():
    user = make_user()
    key = make_idempotency_key(user)
    refused_by_db(
        lambda: IdempotencyKey.objects.create(
            user=user,
            key=key.key,
            scope=key.scope,
            request_hash="1" * 64,
            response_status=201,
            response_body={},
        )
    )


def test_cancel_queued_running_and_finished(product):
    queued = make_generation(product)
    assert services.generation_request_cancel(generation=queued).status == Status.CANCELLED
    assert queued.finished_at is not None

    running = make_generation(product, status=Status.RUNNING)
    running = services.generation_request_cancel(generation=running)
    assert running.status == Status.RUNNING and running.cancel_requested  # the worker stops it

    for status in (Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.CANCELLED):
        finished = make_generation(product, status=status)
        with pytest.raises(services.InvalidTransition):
            services.generation_request_cancel(generation=finished)
        finished.refresh_from_db()
        assert finished.status == status


def test_rate_only_finished_designs(product):
    queued = make_generation(product)
    with pytest.raises(services.InvalidTransition):
        services.generation_request_rate(generation=queued, rating=5)
    done = make_generation(product, status=Status.SUCCEEDED)
    services.generation_request_rate(generation=done, rating="4")
    done.refresh_from_db()
    assert done.rating == 4
