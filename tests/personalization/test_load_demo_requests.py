import json
from io import StringIO

import pytest
from django.core.management import call_command

from personalization.models import GenerationRequest
from tests.factories import make_category, make_product, make_style

pytestmark = pytest.mark.django_db


def test_load_demo_requests_submits_through_the_service(tmp_path, django_capture_on_commit_callbacks):
    mugs = make_category(name="Kitchen items", slug="kitchen-items")
    make_product(product_type="mug", category=mugs, colors=(("White", "#FFFFFF"),))
    make_style(name="Watercolor", slug="watercolor")
    rows = [
        {
            "category": "kitchen_items",
            "product_type": "mug",
            "base_color": "white",
            "description": "Sunset landscape with mountains",
            "style": "watercolor",
            "material": "ceramic",
        },
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
