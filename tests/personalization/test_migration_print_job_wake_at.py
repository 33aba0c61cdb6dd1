"""Migration 0012 (print_job_wake_at): designs ordered before it whose print file is missing (a print
job lost with the broker) are owed, so the sweeper wakes their job; rejected ones and those with
their files are left alone."""

import importlib

import pytest
from django.apps import apps

from personalization.models import LineDesign
from tests.factories import make_product
from tests.foundation_helpers import make_order, make_succeeded_generation

pytestmark = pytest.mark.django_db
owe = importlib.import_module(
    "personalization.migrations.0012_line_design_print_job_wake_at"
).owe_missing_print_files


def test_designs_without_a_print_file_are_owed_their_print_job():
    product = make_product()
    lost, printed, rejected = (
        LineDesign.objects.get(
            order_line__order=make_order(product, design=make_succeeded_generation(product).images.get())
        )
        for _ in range(3)
    )
    LineDesign.objects.update(print_job_wake_at=None)  # as rows made before 0012
    LineDesign.objects.filter(pk=printed.pk).update(print_file="personalization/lines/1/print.png")
    LineDesign.objects.filter(pk=rejected.pk).update(review_state=LineDesign.ReviewState.REJECTED)

    owe(apps, None)

    owed = set(LineDesign.objects.exclude(print_job_wake_at=None).values_list("pk", flat=True))
    assert owed == {lost.pk}
