"""The one product-type table shared by prompt building and the mockup outlines."""

import pytest

from personalization import prompting
from personalization.mockups import outlines
from personalization.product_types import (
    CATEGORIES,
    GENERIC,
    PRODUCT_TYPES,
    category_default,
    known,
    type_key,
)
from personalization.specs import CATEGORY_SLUGS


def test_every_row_is_keyed_by_its_normalised_type_and_says_something():
    for key, row in PRODUCT_TYPES.items():
        assert type_key(key) == key, key
        assert row.placement is not None or row.outline is not None, key


def test_every_outline_named_in_the_table_is_drawn():
    named = {row.outline for row in [*PRODUCT_TYPES.values(), *CATEGORIES.values(), GENERIC] if row.outline}
    assert named <= set(outlines.OUTLINES)
    assert set(outlines.OUTLINES) <= named  # no drawing that no product type uses


def test_each_category_has_a_placement_and_an_outline():
    assert {slug.replace("_", "-") for slug in CATEGORY_SLUGS} == set(CATEGORIES)
    for row in CATEGORIES.values():
        assert row.placement is not None and row.outline in outlines.OUTLINES


@pytest.mark.parametrize(
    ("product_type", "category", "noun", "drawing"),
    [
        ("Coffee-Mug", "accessories", "coffee mug", "_mug"),
        ("mugs", "accessories", "coffee mug", "_mug"),
        ("socks", "apparel", "socks", "_tshirt"),  # a placement, the category's outline
        ("shirt", "apparel", "shirt", "_tshirt"),  # an outline, the category's placement
        ("umbrella", "nope", "umbrella", "_poster"),  # unknown category: the generic outline
        ("side table", "kitchen_items", "side table", "_apron"),
    ],
)
def test_both_sides_read_the_same_row(product_type, category, noun, drawing):
    assert prompting.placement_for(product_type, category).noun == noun
    assert outlines.shape_for(product_type, category).__name__ == drawing


def test_lookups():
    assert known("T_Shirts", "placement").phrase == "centered chest print"
    assert known("cup", "placement") is None and known("cup", "outline") == "mug"
    assert category_default("Home_Decor") is CATEGORIES["home-decor"]
    assert category_default("unknown") is GENERIC
