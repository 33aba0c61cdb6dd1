"""Brand guide models: validation (full_clean) and the database's own constraints agree."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from brand_guides.models import Brand, MaterialPreset, PaletteColor, StylePreset, Typography
from tests.factories import make_brand, make_material, make_style

pytestmark = pytest.mark.django_db


def assert_invalid(obj, field: str | None = None) -> None:
    with pytest.raises(ValidationError) as info:
        obj.full_clean()
    if field is not None:
        assert field in info.value.message_dict, info.value.message_dict


def assert_db_refuses(model, **fields) -> None:
    # A check or unique constraint (IntegrityError), or PostgreSQL's varchar length (DataError).
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        model.objects.create(**fields)


def test_valid_brand_and_strs():
    brand = make_brand(name="Northwind Outfitters")
    brand.full_clean()
    assert str(brand) == "Northwind Outfitters"
    assert str(brand.palette.first()) == "Ocean #1D4E89"
    typography = Typography.objects.create(brand=brand, role="heading", font_family="Montserrat")
    assert str(typography) == "Headings: Montserrat"
    assert str(make_material(name="Fleece", slug="fleece")) == "Fleece"
    assert str(make_style(name="Watercolor", slug="watercolor")) == "Watercolor"


@pytest.mark.parametrize("bad_hex", ["#12345G", "123456", "#FFF", "#1234567", "navy", ""])
def test_palette_bad_hex(bad_hex):
    brand = make_brand(palette=())
    assert_invalid(PaletteColor(brand=brand, name="Bad", hex=bad_hex), "hex")
    assert_db_refuses(PaletteColor, brand=brand, name="Bad", hex=bad_hex)


def test_palette_names_unique_per_brand_and_roles_validated():
    brand = make_brand(palette=(("Navy", "#1F2A44", "primary"),))
    assert_invalid(PaletteColor(brand=brand, name="Navy", hex="#000080"))
    assert_db_refuses(PaletteColor, brand=brand, name="Navy", hex="#000080")
    assert_invalid(PaletteColor(brand=brand, name="Gold", hex="#FFD700", role="sparkle"), "role")


def test_typography_one_font_per_role():
    brand = make_brand()
    Typography.objects.create(brand=brand, role="heading", font_family="Inter")
    assert_invalid(Typography(brand=brand, role="heading", font_family="Lato"))
    assert_db_refuses(Typography, brand=brand, role="heading", font_family="Lato")


def test_duplicate_brand_slug():
    make_brand(slug="northwind")
    assert_invalid(Brand(name="Other", slug="northwind"), "slug")
    assert_db_refuses(Brand, name="Other", slug="northwind")


def test_duplicate_material_slug():
    make_material(slug="cotton")
    assert_invalid(MaterialPreset(name="Cotton 2", slug="cotton"), "slug")
    assert_db_refuses(MaterialPreset, name="Cotton 2", slug="cotton")


def test_duplicate_style_slug():
    make_style(slug="watercolor")
    assert_invalid(StylePreset(name="Watercolour", slug="watercolor", prompt_template="{subject}"), "slug")
    assert_db_refuses(StylePreset, name="Watercolour", slug="watercolor", prompt_template="{subject}")


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_material_reflectance_range(value):
    assert_invalid(MaterialPreset(name="Odd", slug="odd", reflectance=value), "reflectance")
    assert_db_refuses(MaterialPreset, name="Odd", slug="odd", reflectance=value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("min_consistency_score", -1), ("min_consistency_score", 101), ("logo_max_share", 0),
     ("logo_max_share", 1.5), ("logo_clear_space_mm", -1)],
)  # fmt: skip
def test_brand_ranges(field, value):
    assert_invalid(Brand(name="B", slug="b", **{field: value}), field)
    assert_db_refuses(Brand, name="B", slug="b", **{field: value})


def test_keyword_lists_reject_control_characters_and_split_cleanly():
    assert_invalid(Brand(name="B", slug="b", banned_terms="ok\x00bad"), "banned_terms")
    brand = Brand(name="B", slug="b", banned_terms="skull, blood\n  Skull ,alcohol,,")
    assert brand.banned_term_list == ["skull", "blood", "alcohol"]
