"""GET /api/v1/generations/: the ``product`` field is the slug the host adapter gives
(``ProductInfo.slug``), never a ``slug`` column of the host's product model read by name."""

import dataclasses

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from shop.models import BaseColor
from shop.personalization_host import ShopHost
from tests.factories import make_product
from tests.personalization.api.conftest import make_generation

pytestmark = pytest.mark.django_db
URL = "/api/v1/generations/"


class RenamingHost(ShopHost):
    """Describes each product with a slug of its own, unlike the product row's ``slug`` column; counts
    its calls so a test sees how often the API asks."""

    calls: list = []

    def product_info(self, product):
        return dataclasses.replace(super().product_info(product), slug=f"host-{product.pk}")

    def product_infos(self, products):
        products = list(products)
        type(self).calls.append(len(products))
        return super().product_infos(products)


class ColorsHost(ShopHost):
    """A host whose products are rows of a model without a ``slug`` field, relying on the default
    ``get_product``."""

    def products(self):
        return BaseColor.objects.all()


def adapter(path: str):
    return override_settings(PERSONALIZATION={**settings.PERSONALIZATION, "HOST_ADAPTER": path})


RENAMING = "tests.personalization.api.test_generation_product.RenamingHost"


def test_list_and_detail_give_the_adapters_slug(api, user, catalogue):
    generation = make_generation(customer=user, product=catalogue["product"])
    with adapter(RENAMING):
        listed = api.get(URL).json()["results"]
        detail = api.get(f"{URL}{generation.pk}/").json()
    expected = f"host-{catalogue['product'].pk}"
    assert [row["product"] for row in listed] == [expected]
    assert detail["product"] == expected


def test_list_asks_the_host_once_per_page(api, user, catalogue):
    other = make_product(brand=catalogue["brand"])
    for product in (catalogue["product"], other, catalogue["product"]):
        make_generation(customer=user, product=product)
    RenamingHost.calls = []
    with adapter(RENAMING):
        rows = api.get(URL).json()["results"]
    assert RenamingHost.calls == [2]  # one call for the page's two distinct products
    assert sorted({row["product"] for row in rows}) == sorted(
        {f"host-{catalogue['product'].pk}", f"host-{other.pk}"}
    )


def test_default_get_product_needs_a_slug_field():
    assert not any(f.name == "slug" for f in BaseColor._meta.get_fields())
    with pytest.raises(ImproperlyConfigured, match="no `slug` field.*override get_product"):
        ColorsHost().get_product(slug="anything")
    assert ColorsHost().get_product(pk=None) is None


def test_default_get_product_by_slug_and_pk(catalogue):
    product = catalogue["product"]
    assert ShopHost().get_product(slug=product.slug) == product
    assert ShopHost().get_product(pk=product.pk) == product
    assert ShopHost().get_product(slug="no-such-product") is None
