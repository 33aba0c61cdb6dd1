"""What one submit asks the database: the row's check constraints are the database's to enforce
(no query and savepoint per constraint), and a row the database refuses still ends as a clear
ValidationError that names the constraint, never a 500."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personalization import services
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def submit(product, **extra) -> GenerationRequest:
    return generation_request_create(
        product=product,
        base_color="White",
        description="a fox in the snow",
        session_key="visitor-me",
        **extra,
    )


def test_a_submit_does_not_ask_the_database_to_check_each_constraint():
    product = make_product()
    submit(product)  # the first fills the caches (brand guide, product info)
    with CaptureQueriesContext(connection) as queries:
        req = submit(product)
    assert req.status == GenerationRequest.Status.QUEUED
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if '"_check"' in q], sql  # CheckConstraint.validate's probe
    assert len(sql) <= 20, sql


def copy_of(req: GenerationRequest, **fields) -> GenerationRequest:
    values = {f.attname: getattr(req, f.attname) for f in GenerationRequest._meta.concrete_fields}
    values.pop("id")
    return GenerationRequest(**(values | fields))


def test_a_row_the_database_refuses_is_a_validation_error_naming_the_constraint():
    req = submit(make_product())
    bad = copy_of(req, steps=10_000, progress_total=10_000)
    with pytest.raises(ValidationError) as caught:
        services._save_new(bad)
    assert "genreq_steps_range" in str(caught.value)
    assert GenerationRequest.objects.count() == 1


def test_a_taken_primary_key_is_a_validation_error():
    req = submit(make_product())
    twin = copy_of(req, id=req.pk)
    with pytest.raises(ValidationError) as caught:
        services._save_new(twin)
    assert "already exists" in str(caught.value)
    assert GenerationRequest.objects.count() == 1


def test_a_valid_row_is_saved():
    req = submit(make_product())
    again = copy_of(req)
    services._save_new(again)
    assert GenerationRequest.objects.filter(pk=again.pk).exists()
