"""Migration 0006 (fill_line_design_owners): designs frozen before the private storage get their
owner and brand back, so their files keep answering to their customer and the brand's staff."""

import importlib

import pytest
from django.apps import apps

from personalization.models import LineDesign
from tests.factories import make_product, make_user
from tests.foundation_helpers import make_generation_image, make_order, make_succeeded_generation

pytestmark = pytest.mark.django_db
fill = importlib.import_module(
    "personalization.migrations.0006_index_private_file_names_fill_line_design_owners"
).fill_line_design_owners


def test_designs_frozen_before_0004_get_their_owner_and_brand_back():
    product = make_product()
    customer = make_user()
    mine = make_succeeded_generation(product, customer=customer)
    anonymous = make_succeeded_generation(product, session_key="visitor-1")
    make_order(product, design=mine.images.get())
    make_order(product, design=anonymous.images.get())
    orphan_source = make_succeeded_generation(product, customer=customer)
    make_generation_image(orphan_source, index=1)
    make_order(product, design=orphan_source.images.get(index=1))
    LineDesign.objects.update(customer=None, session_key="", brand=None)  # as rows made before 0004
    LineDesign.objects.filter(source_image__request=orphan_source).update(source_image=None)

    fill(apps, None)

    by_request = {
        d.source_image.request_id if d.source_image_id else None: d for d in LineDesign.objects.all()
    }
    assert by_request[mine.pk].customer == customer and by_request[mine.pk].brand == product.brand
    assert by_request[anonymous.pk].session_key == "visitor-1" and by_request[anonymous.pk].customer is None
    orphan = by_request[None]
    assert orphan.brand == product.brand and orphan.customer is None  # brand found by its frozen name
    fill(apps, None)  # safe to run twice
    assert LineDesign.objects.filter(brand=None).count() == 0
