"""The customer's text layer: validated once (``text_layers.text_layer_from``) against the brand's
fonts, palette and content policy and the product's maximum length; bad input gets field errors."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from brand_guides.models import ProtectedName, Typography
from personalization import product_types
from personalization.artwork import TextLayer
from personalization.conditioning import brand_fonts
from personalization.hosts import BaseColor, PrintArea, ProductInfo
from personalization.text_layers import (
    CONTROL,
    MONOGRAM,
    NO_FONTS,
    TEXT_FIELDS,
    text_layer_from,
    text_options,
)
from tests import font_files
from tests.factories import make_brand

pytestmark = pytest.mark.django_db

PALETTE = (("Navy", "#1F2A44", "secondary"), ("Coral", "#FF6F61", "primary"), ("Sand", "#D8C3A5", "accent"))


def product(product_type: str = "mug", category: str = "accessories", **fields) -> ProductInfo:
    return ProductInfo(
        pk=1,
        slug="a-mug",
        name="A mug",
        category_slug=category,
        category_name=category.title(),
        product_type=product_type,
        brand_id=None,
        base_colors=(BaseColor("White", "#ffffff"),),
        print_area=PrintArea(200, 90),
        **fields,
    )


def add_font(brand, role: str, data: bytes, name: str, family: str = "") -> Typography:
    row = Typography(brand=brand, role=role, font_family=family)
    row.font_file.save(name, ContentFile(data), save=False)
    row.full_clean()
    row.save()
    return row


@pytest.fixture
def brand():
    brand = make_brand(palette=PALETTE, banned_terms="knockoff", trademark_allowlist="Acme")
    add_font(brand, "body", font_files.lato(), "Lato-Regular.ttf")
    add_font(brand, "heading", font_files.fredoka_one(), "FredokaOne-Regular.ttf")
    return brand


def errors(values, *, brand, info=None) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        text_layer_from(values, brand=brand, info=info or product())
    return caught.value.message_dict


def test_text_fields_are_the_contract():
    assert TEXT_FIELDS == ("text", "kind", "font", "color", "size", "position", "curve")


@pytest.mark.parametrize("text", [None, "", "   ", "\t "])
def test_blank_text_is_no_layer_whatever_else_is_sent(brand, text):
    values = {"text": text, "font": "nope", "color": "chartreuse", "size": "huge", "curve": "spiral"}
    assert text_layer_from(values, brand=brand, info=product()) is None
    assert text_layer_from({}, brand=brand, info=product()) is None


def test_defaults_heading_font_primary_colour_medium_bottom_straight(brand):
    layer = text_layer_from({"text": "  Ada Lovelace "}, brand=brand, info=product())
    assert layer == TextLayer(
        text="Ada Lovelace",
        kind="line",
        font="heading",
        color_hex="#ff6f61",
        size="medium",
        position="bottom",
        curve="straight",
    )


def test_every_choice_is_taken_and_the_result_validates_again_unchanged(brand):
    values = {
        "text": "Zoe\u0301 & Max, 1984!",  # decomposed e + combining acute: stored NFC
        "kind": "line",
        "font": "body",
        "color": "navy",
        "size": "Large",
        "position": "top",
        "curve": "arc",
    }
    layer = text_layer_from(values, brand=brand, info=product())
    assert layer.text == "Zoé & Max, 1984!"
    assert (layer.font, layer.color_hex, layer.size, layer.position, layer.curve) == (
        "body",
        "#1f2a44",
        "large",
        "top",
        "arc",
    )
    again = layer.as_dict()
    again["color"] = again.pop("color_hex")  # as a cart line's stored layer is checked at checkout
    assert text_layer_from(again, brand=brand, info=product()) == layer


@pytest.mark.parametrize("color", ["#D8C3A5", "#d8c3a5", "SAND", " sand "])
def test_a_palette_colour_by_name_or_hex(brand, color):
    assert text_layer_from({"text": "Hi", "color": color}, brand=brand, info=product()).color_hex == "#d8c3a5"


@pytest.mark.parametrize("color", ["#000000", "black", "chartreuse", "#FF6F6"])
def test_a_colour_outside_the_palette_is_refused_naming_the_choices(brand, color):
    assert errors({"text": "Hi", "color": color}, brand=brand) == {
        "color": ["Choose one of the brand's colours: Navy, Coral, Sand."]
    }


def test_a_brand_without_palette_offers_black_and_white():
    brand = make_brand(palette=())
    add_font(brand, "heading", font_files.lato(), "Lato-Regular.ttf")
    assert text_layer_from({"text": "Hi"}, brand=brand, info=product()).color_hex == "#000000"
    assert (
        text_layer_from({"text": "Hi", "color": "White"}, brand=brand, info=product()).color_hex == "#ffffff"
    )
    assert "color" in errors({"text": "Hi", "color": "red"}, brand=brand)


def test_too_long_for_the_product(brand):
    assert len(text_layer_from({"text": "x" * 24}, brand=brand, info=product("mug")).text) == 24
    assert errors({"text": "x" * 25}, brand=brand, info=product("mug")) == {
        "text": ["Your text is 25 characters long; this product takes 24 at most."]
    }
    assert "text" in errors({"text": "Happy birthday!"}, brand=brand, info=product("cap", "apparel"))
    assert errors({"text": "Ada"}, brand=brand, info=product(text_max_length=2)) == {
        "text": ["Your text is 3 characters long; this product takes 2 at most."]
    }


def test_text_max_length_per_product_type():
    assert product_types.text_max_length("Mugs", "accessories") == 24
    assert product_types.text_max_length("cap", "apparel") == 14
    assert product_types.text_max_length("Phone case", "electronics-cases") == 18
    assert product_types.text_max_length("T-Shirt", "apparel") == 32
    assert product_types.text_max_length("kimono", "apparel") == 32  # the category's
    assert product_types.text_max_length("gizmo", "nowhere") == product_types.TEXT_MAX_LENGTH == 24


@pytest.mark.parametrize(
    "text",
    [
        "Ada\x07",
        "Ada\nLovelace",
        "Ada\tL",
        "A\u200bda",  # zero-width space
        "Ada\u202eecalevoL",  # right-to-left override
        "Ada\u2066x\u2069",  # bidi isolates
        "A\u00adda",  # soft hyphen
        "Ada\u2028Lovelace",  # line separator
        "Ada\ue000",  # private use
        "\x00",
    ],
)
def test_control_and_invisible_characters_are_refused(brand, text):
    assert errors({"text": text}, brand=brand) == {"text": [CONTROL]}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nude beach", "“nude”"),
        ("N.U.D.E", "“nude”"),
        ("ｎｕｄｅ", "“nude”"),  # full-width letters (normalised as in the description; no glyphs either)
        ("Just Do It", "“Just Do It”, a trademark"),
        ("nike", "“Nike”, a trademark"),
        ("no knockoffs", "“knockoff”"),  # the brand's own banned term, plural
    ],
)
def test_the_content_policy_applies_as_to_the_description(brand, text, words):
    messages = errors({"text": text}, brand=brand)["text"]
    assert any(message.startswith("Your text ") and words in message for message in messages), messages


def test_the_brands_own_mark_passes(brand):
    assert text_layer_from({"text": "Acme crew"}, brand=brand, info=product()).text == "Acme crew"


def test_a_protected_name_refuses_the_text_whatever_its_outcome(brand):
    ProtectedName.objects.create(brand=brand, name="Banksy", kind="artist", outcome="review")
    ProtectedName.objects.create(brand=brand, name="Taylor Swift", kind="person", outcome="reject")
    assert errors({"text": "banksy"}, brand=brand) == {
        "text": ["Your text names “Banksy”, which we can't print: leave the name out."]
    }
    assert "a real person" in errors({"text": "Taylor Swift"}, brand=brand)["text"][0]


@pytest.mark.parametrize(("text", "expected"), [("ab", "AB"), ("Zoé", "ZOÉ"), (" xyz ", "XYZ")])
def test_a_monogram_is_two_or_three_letters_upper_cased(brand, text, expected):
    layer = text_layer_from({"text": text, "kind": "monogram"}, brand=brand, info=product())
    assert (layer.kind, layer.text) == ("monogram", expected)


@pytest.mark.parametrize("text", ["a", "abcd", "a1", "a b", "a.b", "12"])
def test_a_monogram_that_is_not_two_or_three_letters_is_refused(brand, text):
    assert errors({"text": text, "kind": "monogram"}, brand=brand) == {"text": [MONOGRAM]}


def test_characters_the_font_cannot_draw_are_refused_naming_them(brand):
    assert errors({"text": "Ada ✓ 字", "font": "heading"}, brand=brand) == {
        "text": ["The font Fredoka One cannot draw: ✓, 字."]
    }
    assert text_layer_from({"text": "Zoë", "font": "body"}, brand=brand, info=product()).text == "Zoë"


def test_unknown_choices_are_refused_all_at_once_listing_the_choices(brand):
    values = {
        "text": "Hi",
        "kind": "banner",
        "font": "script",
        "size": "huge",
        "position": "left",
        "curve": "wave",
    }
    assert errors(values, brand=brand) == {
        "kind": ["Choose one of: line, monogram."],
        "size": ["Choose one of: small, medium, large."],
        "position": ["Choose one of: top, middle, bottom."],
        "curve": ["Choose one of: straight, arc."],
        "font": ["Choose one of the brand's fonts: heading (Fredoka One), body (Lato)."],
    }


def test_values_that_are_not_strings_are_refused(brand):
    assert errors({"text": 12345}, brand=brand) == {"text": ["Enter this as text."]}
    assert errors({"text": "Hi", "size": ["large"]}, brand=brand) == {"size": ["Enter this as text."]}


def test_a_brand_without_font_files_offers_no_text():
    brand = make_brand()
    Typography.objects.create(brand=brand, role="heading", font_family="Helvetica")  # a name, no file
    assert errors({"text": "Hi"}, brand=brand) == {"text": [NO_FONTS]}
    assert text_layer_from({"text": ""}, brand=brand, info=product()) is None


def test_without_a_heading_font_the_first_font_is_the_default():
    brand = make_brand(palette=PALETTE)
    add_font(brand, "accent", font_files.fredoka_one(), "FredokaOne-Regular.ttf")
    add_font(brand, "body", font_files.lato(), "Lato-Regular.ttf")
    assert list(brand_fonts(brand)) == ["body", "accent"]
    assert text_layer_from({"text": "Hi"}, brand=brand, info=product()).font == "body"


def test_text_options_for_the_studio_and_the_api(brand):
    options = text_options(brand, product("cap", "apparel"))
    assert options == {
        "available": True,
        "max_length": 14,
        "monogram_lengths": [2, 3],
        "fonts": [
            {"key": "heading", "label": "Headings", "family": "Fredoka One", "style": "Regular"},
            {"key": "body", "label": "Body text", "family": "Lato", "style": "Regular"},
        ],
        "colors": [
            {"name": "Navy", "hex": "#1f2a44", "role": "secondary"},
            {"name": "Coral", "hex": "#ff6f61", "role": "primary"},
            {"name": "Sand", "hex": "#d8c3a5", "role": "accent"},
        ],
        "kinds": ["line", "monogram"],
        "sizes": ["small", "medium", "large"],
        "positions": ["top", "middle", "bottom"],
        "curves": ["straight", "arc"],
        "defaults": {
            "kind": "line",
            "size": "medium",
            "position": "bottom",
            "curve": "straight",
            "font": "heading",
            "color": "#ff6f61",
        },
    }
    assert text_options(make_brand(), product())["available"] is False


@pytest.mark.parametrize(
    ("anchor", "with_logo", "expected"),
    [
        ("bottom-right", True, "top"),
        ("bottom-center", True, "top"),
        ("top-left", True, "bottom"),
        ("center", True, "bottom"),
        ("bottom-right", False, "bottom"),
    ],
)
def test_the_default_position_keeps_clear_of_the_logo(anchor, with_logo, expected):
    from django.core.files.base import ContentFile

    from personalization.hosts import host
    from personalization.text_layers import text_layer_from, text_options
    from tests.text_layer_helpers import brand_with_fonts, design_png, mug

    brand = brand_with_fonts(logo_anchor=anchor)
    if with_logo:
        brand.logo.save("logo.png", ContentFile(design_png((40, 20))), save=True)
    info = host().product_info(mug(brand))
    assert text_options(brand, info)["defaults"]["position"] == expected
    assert text_layer_from({"text": "Ada"}, brand=brand, info=info).position == expected
    # the customer's own choice always wins
    assert text_layer_from({"text": "Ada", "position": "middle"}, brand=brand, info=info).position == "middle"
