"""docs/FULFILMENT.md's example is an export of this fixture order, not typed by hand.

``WRITE_DOCS_EXAMPLES=1 pytest tests/shop/test_fulfilment_docs.py`` rewrites the example block;
without it the test checks that the block still has the document's exact shape (keys, nesting,
types), so a field added, renamed or dropped in the export fails here until the docs follow."""

import json
import os
from pathlib import Path

import font_lato
import pytest
from django.core.files.base import ContentFile

from shop.fulfilment import order_fulfilment, orders_for_fulfilment
from shop.models import Order
from tests.factories import make_brand
from tests.fulfilment_helpers import make_export_order, order_design

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "FULFILMENT.md"
BEGIN, END = "<!-- example:begin -->\n", "<!-- example:end -->"


def example_document() -> dict:
    # 1280 x 560 px over 206 x 91 mm: about 157 dpi, above the mug's 150 dpi minimum.
    order = make_export_order(brand=make_brand(name="Harbour", slug="harbour"), design_size=(1280, 560))
    design = order_design(order)
    with open(font_lato.font_files["Lato"], "rb") as fh:
        design.text_font.save("font.ttf", ContentFile(fh.read()), save=False)
    text = {
        "text": "Ada",
        "kind": "line",
        "font": "heading",
        "color_hex": "#1D4E89",
        "size": "medium",
        "position": "bottom",
        "curve": "straight",
    }
    design.composition = {**design.composition, "text": text}
    design.save()
    order = orders_for_fulfilment(Order.objects.filter(pk=order.pk)).get()
    return order_fulfilment(order, url_for=lambda field: f"https://shop.example/private-media/{field.name}")


# Formats of other modules (documented with them): only their presence is checked here.
FOREIGN = ("recipe", "preflight")


def shape(value):
    if isinstance(value, dict):
        if set(FOREIGN) <= value.keys():  # a line: the recipe and preflight are dicts of their own
            return {key: "dict" if key in FOREIGN else shape(item) for key, item in value.items()}
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def docs_example() -> dict:
    block = DOC.read_text().split(BEGIN)[1].split(END)[0]
    return json.loads(block.strip().removeprefix("```json").removesuffix("```"))


def write_docs_example(document: dict) -> None:
    head, rest = DOC.read_text().split(BEGIN)
    block = "```json\n" + json.dumps(document, indent=2, sort_keys=True) + "\n```\n"
    DOC.write_text(head + BEGIN + block + END + rest.split(END)[1])


def test_the_docs_example_is_an_export_of_the_fixture_order():
    document = example_document()
    if os.environ.get("WRITE_DOCS_EXAMPLES"):
        write_docs_example(document)

    example = docs_example()

    assert shape(example) == shape(document)
    [item] = example["items"]
    assert item["external_id"].startswith("pz-") and item["status"] == "ready"
    assert item["placements"][0]["layers"][1]["font"] == "Lato"  # read from the frozen font file
