"""The host shop's models: validation (full_clean) and the database's own constraints agree."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from shop.models import BaseColor, Cart, CartLine, Category, Order, OrderLine, Product
from tests.factories import make_brand, make_category, make_product

pytestmark = pytest.mark.django_db


def assert_invalid(obj, field: str | None = None) -> None:
    """full_clean() refuses obj; with ``field``, the error names that field."""
    with pytest.raises(ValidationError) as info:
        obj.full_clean()
    if field is not None:
        assert field in info.value.message_dict, info.value.message_dict


def assert_db_refuses(model, **fields) -> None:
    """The database itself refuses the row (a save that skips validation)."""
    # A check or unique constraint (IntegrityError), or PostgreSQL's varchar length (DataError).
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        model.objects.create(**fields)


def product_fields(**overrides) -> dict:
    fields = {
        "brand": make_brand(), "category": make_category(), "product_type": "mug", "name": "Mug",
        "slug": "mug-x", "price": Decimal("12.00"), "print_width_mm": 200, "print_height_mm": 85,
        "print_dpi": 300,
    }  # fmt: skip
    fields.update(overrides)
    return fields


def test_valid_product_passes_validation_and_strs():
    product = make_product(name="Classic T-shirt")
    product.full_clean()
    assert str(product) == "Classic T-shirt"
    assert str(product.category).startswith("Apparel")
    assert str(product.base_colors.first()) == "White (#FFFFFF)"
    assert product.get_absolute_url().endswith(product.slug + "/")


@pytest.mark.parametrize("bad_hex", ["#12345G", "123456", "#FFF", "#1234567", "red", ""])
def test_base_color_bad_hex(bad_hex):
    product = make_product()
    assert_invalid(BaseColor(product=product, name="Bad", hex=bad_hex), "hex")
    assert_db_refuses(BaseColor, product=product, name="Bad", hex=bad_hex)


def test_base_color_good_hex_either_case():
    product = make_product(colors=())
    for i, value in enumerate(["#a1b2c3", "#A1B2C3"]):
        color = BaseColor(product=product, name=f"C{i}", hex=value)
        color.full_clean()
        color.save()


def test_base_color_names_unique_per_product():
    product = make_product(colors=(("White", "#FFFFFF"),))
    assert_invalid(BaseColor(product=product, name="White", hex="#FEFEFE"))
    assert_db_refuses(BaseColor, product=product, name="White", hex="#FEFEFE")
    BaseColor.objects.create(product=make_product(), name="Ivory", hex="#FFFFF0")  # other products may


def test_negative_price():
    assert_invalid(Product(**product_fields(price=Decimal("-0.01"))), "price")
    assert_db_refuses(Product, **product_fields(price=Decimal("-0.01")))
    Product(**product_fields(price=Decimal("0"))).full_clean()  # free is allowed


@pytest.mark.parametrize("field", ["print_width_mm", "print_height_mm"])
@pytest.mark.parametrize("value", [0, -10])
def test_zero_or_negative_print_area(field, value):
    assert_invalid(Product(**product_fields(**{field: value})), field)
    assert_db_refuses(Product, **product_fields(**{field: value}))


@pytest.mark.parametrize("field", ["print_width_mm", "print_height_mm"])
def test_empty_print_area(field):
    assert_invalid(Product(**product_fields(**{field: None})), field)
    assert_db_refuses(Product, **product_fields(**{field: None}))


def test_print_dpi_must_be_positive():
    assert_invalid(Product(**product_fields(print_dpi=0)), "print_dpi")
    assert_db_refuses(Product, **product_fields(print_dpi=0))


def test_safe_margin_too_large_or_negative():
    assert_invalid(
        Product(**product_fields(print_width_mm=20, print_height_mm=100, safe_margin_mm=10)), "safe_margin_mm"
    )
    assert_invalid(Product(**product_fields(safe_margin_mm=-1)), "safe_margin_mm")
    assert_db_refuses(Product, **product_fields(safe_margin_mm=-1))
    Product(**product_fields(print_width_mm=20, print_height_mm=100, safe_margin_mm=9.9)).full_clean()


@pytest.mark.parametrize(
    "box",
    [
        {"mockup_box_left": 0.7, "mockup_box_width": 0.4},
        {"mockup_box_top": 0.9, "mockup_box_height": 0.2},
        {"mockup_box_left": -0.1},
        {"mockup_box_width": 0},
    ],
)
def test_mockup_box_outside_the_picture(box):
    assert_invalid(Product(**product_fields(**box)))
    assert_db_refuses(Product, **product_fields(**box))


def test_mockup_box_touching_the_edges_is_fine():
    Product(
        **product_fields(mockup_box_left=0.6, mockup_box_width=0.4, mockup_box_top=0.0, mockup_box_height=1.0)
    ).full_clean()


def test_duplicate_product_slug():
    make_product(slug="classic-tee")
    assert_invalid(Product(**product_fields(slug="classic-tee")), "slug")
    assert_db_refuses(Product, **product_fields(slug="classic-tee"))


def test_duplicate_category_slug():
    make_category(slug="apparel", name="Apparel")
    assert_invalid(Category(slug="apparel", name="Clothes"), "slug")
    assert_db_refuses(Category, slug="apparel", name="Clothes")


@pytest.mark.parametrize("quantity", [0, 100])
def test_cart_line_quantity_range(quantity):
    product = make_product()
    cart = Cart.objects.create(session_key="abc")
    fields = {
        "cart": cart,
        "product": product,
        "base_color": product.base_colors.first(),
        "quantity": quantity,
    }
    assert_invalid(CartLine(**fields), "quantity")
    assert_db_refuses(CartLine, **fields)


def order_fields(**overrides) -> dict:
    fields = {
        "number": "PZ0001", "full_name": "Ada", "email": "ada@example.com", "address_line1": "1 Way",
        "city": "London", "postcode": "N1", "country": "GB",
    }  # fmt: skip
    fields.update(overrides)
    return fields


def test_order_total_and_number():
    assert_db_refuses(Order, **order_fields(total=Decimal("-1")))
    order = Order.objects.create(**order_fields())
    assert str(order) == "Order PZ0001"
    assert_db_refuses(Order, **order_fields())  # duplicate number


@pytest.mark.parametrize("overrides", [{"quantity": 0}, {"unit_price": Decimal("-1")}])
def test_order_line_constraints(overrides):
    order = Order.objects.create(**order_fields())
    fields = {
        "order": order, "product_name": "Mug", "product_slug": "mug", "product_type": "mug",
        "base_color_name": "White", "base_color_hex": "#FFFFFF", "quantity": 1, "unit_price": Decimal("9.00"),
    }  # fmt: skip
    fields.update(overrides)
    assert_db_refuses(OrderLine, **fields)
