"""The host adapter keeps what a product's ProductInfo reads beyond the row (its category, base
colours and materials) in the shared cache: a polled status costs no query for them, and a change
to any of them is seen at the next read."""

import logging

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from config.cache import caches_for
from personalization.hosts import host
from shop.models import BaseColor, Product
from tests.factories import make_material, make_product

pytestmark = pytest.mark.django_db


def fresh_info(product):
    """The ProductInfo of a product row read afresh (as a poll reads it: nothing related loaded),
    and the queries it took."""
    row = Product.objects.get(pk=product.pk)
    with CaptureQueriesContext(connection) as queries:
        info = host().product_info(row)
    return info, len(queries)


def test_a_second_read_asks_the_database_nothing(product):
    first, queries = fresh_info(product)
    assert queries == 3  # category, base colours, materials
    again, queries = fresh_info(product)
    assert queries == 0
    assert again == first


def test_a_new_base_colour_is_seen(product):
    fresh_info(product)
    BaseColor.objects.create(product=product, name="Navy", hex="#000080", position=9)
    info, _ = fresh_info(product)
    assert info.base_color("Navy") is not None


def test_a_changed_and_a_deleted_base_colour_are_seen(product):
    fresh_info(product)
    white = product.base_colors.get(name="White")
    white.hex = "#FAFAFA"
    white.save()
    assert fresh_info(product)[0].base_color("White").hex == "#FAFAFA"
    white.delete()
    assert fresh_info(product)[0].base_color("White") is None


def test_materials_added_either_way_and_removed_are_seen(product):
    fresh_info(product)
    linen, wool = make_material(), make_material()
    product.allowed_materials.add(linen)
    assert fresh_info(product)[0].material_ids == (linen.pk,)
    wool.products.add(product)  # from the material's side
    assert set(fresh_info(product)[0].material_ids) == {linen.pk, wool.pk}
    wool.products.clear()
    assert fresh_info(product)[0].material_ids == (linen.pk,)
    product.allowed_materials.remove(linen)
    assert fresh_info(product)[0].material_ids == ()


def test_a_renamed_category_is_seen(product):
    fresh_info(product)
    category = product.category
    category.name, category.slug = "Drinkware", "drinkware"
    category.save()
    info, _ = fresh_info(product)
    assert (info.category_name, info.category_slug) == ("Drinkware", "drinkware")


def test_fields_of_the_row_come_from_the_instance(product):
    fresh_info(product)
    row = Product.objects.get(pk=product.pk)
    row.name = "Renamed, not saved yet"
    assert host().product_info(row).name == "Renamed, not saved yet"


def test_an_unreachable_cache_reads_the_database(product, caplog):
    down = caches_for(cache_url="", redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with override_settings(CACHES=down), caplog.at_level(logging.WARNING, logger="shop.personalization_host"):
        info, queries = fresh_info(product)
    assert queries == 3 and info.base_color("White") is not None
    assert "cache unreachable (ConnectionError): product info read afresh" in caplog.text


@pytest.fixture
def product():
    return make_product()
