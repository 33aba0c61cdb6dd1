"""Fixtures of the django-oscar host: a brand guide, a personalizable oscar product with stock, a
customer with a basket, and designs made by the real worker code on the tiny pipeline.

tests/conftest.py's autouse fixtures (plain http and static files, a clean cache, per-test media and
private folders) and tests/worker_fixtures.py (``tiny_model``) apply here too."""

import itertools
from decimal import Decimal

import pytest
from oscar.core.loading import get_class, get_model

from tests.hosts.oscar.host import BASE_COLORS, BRAND, PRINT_HEIGHT_MM, PRINT_WIDTH_MM, PRODUCT_TYPE
from tests.hosts.oscar.integration import personalizable_product_class

_seq = itertools.count(1)


def make_brand(**fields):
    from brand_guides.models import Brand, PaletteColor

    n = next(_seq)
    brand = Brand.objects.create(name=f"Oscar brand {n}", slug=f"oscar-brand-{n}", **fields)
    for i, (name, hex_, role) in enumerate(
        (("Ocean", "#1D4E89", "primary"), ("Sand", "#F2D0A4", "secondary"))
    ):
        PaletteColor.objects.create(brand=brand, name=name, hex=hex_, role=role, position=i)
    return brand


def make_oscar_product(*, brand, title=None, colors="White=#ffffff, Navy=#1f2a44", price="24.00"):
    """A public oscar product of the personalizable class, in the "apparel" category, in stock."""
    Product = get_model("catalogue", "Product")
    Category = get_model("catalogue", "Category")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    n = next(_seq)
    product = Product(
        product_class=personalizable_product_class(),
        title=title or f"Organic t-shirt {n}",
        structure=Product.STANDALONE,
        is_public=True,
    )
    setattr(product.attr, BRAND, brand.pk)
    setattr(product.attr, PRODUCT_TYPE, "t-shirt")
    setattr(product.attr, PRINT_WIDTH_MM, 250.0)
    setattr(product.attr, PRINT_HEIGHT_MM, 300.0)
    setattr(product.attr, BASE_COLORS, colors)
    product.save()
    category = Category.objects.filter(slug="apparel").first() or Category.add_root(
        name="Apparel", slug="apparel"
    )
    product.categories.add(category)
    partner, _ = Partner.objects.get_or_create(name="Print partner")
    StockRecord.objects.create(
        product=product, partner=partner, partner_sku=f"TS-{n}", price=Decimal(price), num_in_stock=100
    )
    return product


@pytest.fixture
def brand(db):
    brand = make_brand()
    brand.min_consistency_score = 0  # random weights: no brand score to meet
    brand.save()
    return brand


@pytest.fixture
def product(brand):
    return make_oscar_product(brand=brand)


@pytest.fixture
def customer(db):
    from django.contrib.auth import get_user_model

    n = next(_seq)
    return get_user_model().objects.create_user(
        username=f"customer{n}", email=f"customer{n}@example.com", password="pass-w0rd-long"
    )


@pytest.fixture
def basket(customer):
    """The customer's open oscar basket, priced by oscar's default strategy."""
    Basket = get_model("basket", "Basket")
    Selector = get_class("partner.strategy", "Selector")
    basket = Basket.objects.create(owner=customer)
    basket.strategy = Selector().strategy(user=customer)
    return basket


def place_order(basket, *, user):
    """Place the basket's order with oscar's own OrderCreator (free shipping, no tax)."""
    OrderCreator = get_class("order.utils", "OrderCreator")
    OrderTotalCalculator = get_class("checkout.calculators", "OrderTotalCalculator")
    Free = get_class("shipping.methods", "Free")
    shipping = Free()
    charge = shipping.calculate(basket)
    total = OrderTotalCalculator().calculate(basket, charge)
    return OrderCreator().place_order(
        basket=basket,
        total=total,
        shipping_method=shipping,
        shipping_charge=charge,
        user=user,
        order_number=str(100000 + basket.pk),
    )
