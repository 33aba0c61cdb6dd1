"""The issue-11 migrations (personalization 0007/0008, apikit 0001, brand_guides 0006, shop 0004) on a
database that already holds rows: forward from the state before them, then backward and forward
again. Under .ci/run this runs on PostgreSQL too, where a data step followed by ALTER TABLE in one
transaction can fail ("pending trigger events") although SQLite passes."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True)]

BEFORE = [
    ("personalization", "0006_index_private_file_names_fill_line_design_owners"),
    ("apikit", None),
    ("brand_guides", "0005_protected_name_min_length"),
    ("shop", "0003_allowed_image_uploads"),
]


def migrate(targets):
    """Migrate to ``targets`` and return the apps of that state (historical models)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def seed_before(apps) -> dict:
    """Rows as the code before the presets wrote them, one of them past today's envelope (a shop
    that had widened MAX_STEPS / MAX_GUIDANCE / MAX_VARIATIONS)."""
    User = apps.get_model("auth", "User")
    Brand = apps.get_model("brand_guides", "Brand")
    Category = apps.get_model("shop", "Category")
    Product = apps.get_model("shop", "Product")
    Order = apps.get_model("shop", "Order")
    OrderLine = apps.get_model("shop", "OrderLine")
    GenerationRequest = apps.get_model("personalization", "GenerationRequest")
    GenerationImage = apps.get_model("personalization", "GenerationImage")
    LineDesign = apps.get_model("personalization", "LineDesign")
    IdempotencyKey = apps.get_model("personalization", "IdempotencyKey")

    user = User.objects.create(username="before-presets")
    brand = Brand.objects.create(name="Old brand", slug="old-brand")
    category = Category.objects.create(name="Apparel", slug="apparel")
    product = Product.objects.create(
        brand=brand,
        category=category,
        product_type="t-shirt",
        name="Tee",
        slug="tee",
        price=Decimal("10"),
        print_width_mm=200,
        print_height_mm=250,
        print_dpi=300,
    )
    common = {
        "product": product,
        "brand": brand,
        "base_color_name": "White",
        "base_color_hex": "#FFFFFF",
        "description": "a fox",
        "optimized_prompt": "a fox, printed",
        "negative_prompt": "blurry",
        "seed": 7,
        "width": 768,
        "height": 768,
        "model_name": "stabilityai/stable-diffusion-2-1",
        "scheduler_name": "DPMSolverMultistepScheduler (DPM++ 2M)",
        "status": "succeeded",
        "session_key": "visitor",
        "finished_at": timezone.now(),
    }
    wide = GenerationRequest.objects.create(
        **common, steps=150, guidance_scale=25.0, variations=6, strength=0.01, progress_total=150
    )
    with_reference = GenerationRequest.objects.create(
        **common, steps=25, guidance_scale=7.5, variations=1, strength=0.4, reference_sha256="ab" * 32
    )
    image = GenerationImage.objects.create(
        request=with_reference, index=0, seed=7, width=768, height=768, generation_seconds=1.0
    )
    order = Order.objects.create(
        user=user, full_name="A", email="a@example.com", city="X", postcode="1", country="GB"
    )
    line = OrderLine.objects.create(
        order=order,
        product=product,
        product_name="Tee",
        product_slug="tee",
        product_type="t-shirt",
        base_color_name="White",
        base_color_hex="#FFFFFF",
        quantity=1,
        unit_price=Decimal("10"),
    )
    design = LineDesign.objects.create(
        order_line=line,
        customer=user,
        brand=brand,
        source_image=image,
        description="a fox",
        optimized_prompt="a fox, printed",
        negative_prompt="blurry",
        seed=7,
        steps=25,
        guidance_scale=7.5,
        width=768,
        height=768,
        strength=0.4,
        model_name="stabilityai/stable-diffusion-2-1",
        scheduler_name="DPMSolverMultistepScheduler (DPM++ 2M)",
        brand_name="Old brand",
        base_color_name="White",
        base_color_hex="#FFFFFF",
    )
    IdempotencyKey.objects.create(
        user=user, key="k1", scope="generations", request_hash="h", response_status=201, response_body={}
    )
    return {"wide": wide.pk, "design": design.pk, "product": product.pk, "brand": brand.pk}


def test_forward_with_rows_then_backward_and_forward_again():
    try:
        keys = seed_before(migrate(BEFORE))

        apps = migrate(latest())
        GenerationRequest = apps.get_model("personalization", "GenerationRequest")
        wide = GenerationRequest.objects.get(pk=keys["wide"])
        assert (wide.preset, wide.steps, wide.guidance_scale, wide.variations, wide.strength) == (
            "sd21",
            100,
            20.0,
            4,
            0.05,
        )
        design = apps.get_model("personalization", "LineDesign").objects.get(pk=keys["design"])
        assert design.preset == "sd21"
        assert (design.recipe["preset"], design.recipe["strength"], design.recipe["width"]) == (
            "sd21",
            0.4,
            768,
        )
        assert design.recipe["reference_sha256"] == "ab" * 32
        assert apps.get_model("apikit", "IdempotencyKey").objects.get().key == "k1"  # the same table
        assert apps.get_model("shop", "Product").objects.get(pk=keys["product"]).model_preset == ""
        assert apps.get_model("brand_guides", "Brand").objects.get(pk=keys["brand"]).model_preset == ""

        apps = migrate(BEFORE)  # backward keeps every row
        assert apps.get_model("personalization", "GenerationRequest").objects.count() == 2
        assert apps.get_model("personalization", "IdempotencyKey").objects.get().key == "k1"
    finally:
        migrate(latest())
    assert GenerationRequest.objects.get(pk=keys["wide"]).steps == 100
