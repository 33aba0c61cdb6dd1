"""The print-on-demand line document (personalization.fulfilment): ids, inches, pending files."""

import re

import pytest
from django.core.files.base import ContentFile

from personalization.fulfilment import fulfilment_files, line_fulfilment, technique_for
from tests.fulfilment_helpers import PRINT_PX, make_export_order, order_design

pytestmark = pytest.mark.django_db

VARIANT = {
    "sku": "mug-white",
    "product": "mug",
    "product_type": "mug",
    "color": "White",
    "color_hex": "#FFFFFF",
}


def url_for(field) -> str:
    return f"https://files.test/{field.name}"


def document(design, **kwargs):
    return line_fulfilment(design, quantity=2, variant=VARIANT, url_for=url_for, **kwargs)


def test_inches_for_a_200_by_85_mm_area_with_3_mm_bleed():
    design = order_design(make_export_order())
    doc = document(design, category_slug="kitchen-items")

    assert doc["status"] == "ready"
    assert doc["quantity"] == 2 and doc["variant"] == VARIANT
    [placement] = doc["placements"]
    assert placement["placement"] == "front"
    assert placement["technique"] == "sublimation"
    # 200 / 25.4 = 7.874 in, 85 / 25.4 = 3.3465 in; the file covers trim + bleed: 206 x 91 mm.
    assert placement["area"] == {"width_in": 7.874, "height_in": 3.3465, "bleed_in": 0.1181, "dpi": 300}
    [file_layer] = placement["layers"]
    assert file_layer["type"] == "file"
    assert file_layer["url"] == url_for(design.print_file)
    assert file_layer["position"] == {
        "area_width": 7.874,
        "area_height": 3.3465,
        "width": 8.1102,  # 206 / 25.4
        "height": 3.5827,  # 91 / 25.4
        "top": -0.1181,  # -3 / 25.4
        "left": -0.1181,
    }
    png, pdf, mockup = doc["files"]
    assert png == {
        "type": "print_png",
        "status": "ready",
        "url": url_for(design.print_file),
        "width_px": PRINT_PX[0],
        "height_px": PRINT_PX[1],
        "dpi": 300,
    }
    assert pdf["trim_box_in"] == [0.1181, 0.1181, 7.9921, 3.4646]  # (3 + 200) / 25.4, (3 + 85) / 25.4
    assert pdf["bleed_box_in"] == [0.0, 0.0, 8.1102, 3.5827]
    assert mockup == {"type": "mockup", "status": "ready", "url": url_for(design.mockup)}
    assert doc["recipe"] == design.recipe and doc["recipe"]["seed"] == design.seed


def test_the_same_line_exported_twice_has_the_same_external_id():
    design = order_design(make_export_order())
    first, second = document(design), document(order_design(design.order_line.order))

    assert re.fullmatch(r"pz-[0-9a-f]{16}", first["external_id"])
    assert first == second
    other = order_design(make_export_order())
    assert document(other)["external_id"] != first["external_id"]


def test_a_line_whose_print_file_is_not_rendered_is_pending_with_null_urls():
    design = order_design(make_export_order(render=False))
    assert not design.print_file

    doc = document(design)

    assert doc["status"] == "print_file_pending"
    file_layer = doc["placements"][0]["layers"][0]
    assert file_layer["url"] is None
    assert file_layer["position"]["width"] == 8.1102  # the configured 3 mm bleed, as the job will render
    png, pdf, _ = doc["files"]
    assert (png["status"], png["url"], png["width_px"], png["height_px"]) == ("pending", None, *PRINT_PX)
    assert (pdf["status"], pdf["url"]) == ("pending", None)
    assert [name for name, _ in fulfilment_files(design)] == ["mockup.png"]


def test_the_pdf_is_listed_once_stored():
    design = order_design(make_export_order())
    design.print_pdf.save("print.pdf", ContentFile(b"%PDF-1.4\n"), save=True)

    pdf = document(design)["files"][1]

    assert (pdf["status"], pdf["url"]) == ("ready", url_for(design.print_pdf))
    assert [name for name, _ in fulfilment_files(design)] == ["print.png", "print.pdf", "mockup.png"]


def test_a_print_file_gone_from_the_storage_reads_as_pending():
    design = order_design(make_export_order())
    design.print_file.storage.delete(design.print_file.name)

    doc = document(design)

    assert doc["status"] == "print_file_pending"
    assert doc["files"][0]["url"] is None


def test_the_text_layer_is_listed_as_baked_into_the_file():
    design = order_design(make_export_order())
    text = {
        "text": "Ada",
        "kind": "monogram",
        "font": "heading",
        "color_hex": "#1D4E89",
        "size": "large",
        "position": "middle",
        "curve": "straight",
    }
    design.composition = {"text": text}

    layers = document(design)["placements"][0]["layers"]

    assert [layer["type"] for layer in layers] == ["file", "text"]
    text_layer = layers[1]
    assert text_layer["baked_into"] == "file"
    assert (text_layer["text"], text_layer["kind"], text_layer["color"]) == ("Ada", "monogram", "#1D4E89")
    assert text_layer["font"] == "heading"  # no frozen font file: the brand font's key
    # The safe zone: the area inset by its 5 mm margin.
    assert text_layer["position"] == {
        "area_width": 7.874,
        "area_height": 3.3465,
        "width": 7.4803,  # 190 / 25.4
        "height": 2.9528,  # 75 / 25.4
        "top": 0.1969,
        "left": 0.1969,
    }


@pytest.mark.parametrize(
    ("product_type", "category", "technique"),
    [
        ("T-Shirt", "apparel", "dtg"),
        ("Mugs", "accessories", "sublimation"),
        ("poster", "home-decor", "digital"),
        ("cushion", "Home_Decor", "sublimation"),
        ("phone case", "", "uv"),
        ("widget", "unknown", "digital"),
    ],
)
def test_technique_by_product_type_then_category(product_type, category, technique):
    assert technique_for(product_type, category) == technique
