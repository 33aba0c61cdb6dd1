import json
from io import StringIO

import pytest
from django.core.management import call_command

from personalization.models import GenerationRequest
from tests.factories import make_category, make_product, make_style

pytestmark = pytest.mark.django_db

# A request for a watercolour sunset on a white ceramic mug, as requests.jsonl writes it.
MUG_ROW = {
    "category": "kitchen_items",
    "product_type": "mug",
    "base_color": "white",
    "description": "Sunset landscape with mountains",
    "style": "watercolor",
    "material": "ceramic",
}


def test_load_demo_requests_submits_through_the_service(tmp_path, django_capture_on_commit_callbacks):
    mugs = make_category(name="Kitchen items", slug="kitchen-items")
    make_product(product_type="mug", category=mugs, colors=(("White", "#FFFFFF"),))
    make_style(name="Watercolor", slug="watercolor")
    rows = [
        MUG_ROW,
        {
            "category": "kitchen_items",
            "product_type": "cup",
            "base_color": "plum",
            "description": "A Nike swoosh on fire",
            "style": "unknown",
            "material": "ceramic",
        },
        {
            "category": "footwear",
            "product_type": "sneakers",
            "base_color": "red",
            "description": "Lightning bolts",
            "style": "",
            "material": "",
        },
    ]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    out, err = StringIO(), StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("load_demo_requests", str(path), "--steps", "4", stdout=out, stderr=err)
    queued = GenerationRequest.objects.get(status="queued")
    assert queued.description == "Sunset landscape with mountains" and queued.style.slug == "watercolor"
    assert queued.seed == 1000 and queued.session_key == "demo-requests" and queued.steps == 4
    rejected = GenerationRequest.objects.get(status="rejected")
    assert (
        rejected.error_code == "trademark" and rejected.base_color_name == "White"
    )  # by category, 1st colour
    assert len(callbacks) == 1  # only the accepted request was queued
    assert "no product for 'sneakers'" in err.getvalue() and "not JSON" in err.getvalue()
    assert "submitted: invalid 1, no_product 1, queued 1, rejected 1" in out.getvalue()


def test_a_row_naming_another_brands_preset_is_submitted_without_it(
    tmp_path, django_capture_on_commit_callbacks
):
    # The presets are matched among those the product offers (selectors.offered_presets), so a row
    # naming another brand's own preset loses only that choice, not the whole request.
    from tests.factories import make_brand, make_material

    mugs = make_category(name="Kitchen items", slug="kitchen-items")
    acorn, zephyr = make_brand(name="Acorn", slug="acorn"), make_brand(name="Zephyr", slug="zephyr")
    make_product(brand=acorn, product_type="mug", category=mugs, colors=(("White", "#FFFFFF"),))
    make_style(name="Watercolor", slug="watercolor", brand=zephyr)
    make_material(name="Ceramic", slug="ceramic", brand=zephyr)
    path = tmp_path / "requests.jsonl"
    path.write_text(json.dumps(MUG_ROW) + "\n")
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=False):
        call_command("load_demo_requests", str(path), "--steps", "4", stdout=out, stderr=StringIO())
    queued = GenerationRequest.objects.get(status="queued")
    assert (queued.style, queued.material) == (None, None)
    assert "submitted: queued 1" in out.getvalue()
