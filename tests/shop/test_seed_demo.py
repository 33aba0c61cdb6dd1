"""`seed_demo` builds the demo catalogue and a second run changes nothing; `ensure_demo_admin`
creates admin/admin only while DEBUG is on."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from PIL import Image

from brand_guides.models import Brand, MaterialPreset, PaletteColor, StylePreset, Typography
from shop.models import BaseColor, Category, Product

pytestmark = pytest.mark.django_db

CATEGORY_SLUGS = {
    "apparel", "accessories", "home-decor", "electronics-cases", "footwear", "stationery", "jewelry",
    "sports-equipment", "automotive-accessories", "pet-products", "kitchen-items", "garden-accessories",
}  # fmt: skip
PAPER_TYPES = {"t-shirt", "mug", "cap", "cushion", "canvas"}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def catalogue_dump() -> dict:
    """Everything the demo catalogue is made of, in a stable order (no ids or timestamps)."""
    return {
        "counts": {
            m.__name__: m.objects.count()
            for m in (
                Category,
                Brand,
                PaletteColor,
                Typography,
                MaterialPreset,
                StylePreset,
                Product,
                BaseColor,
            )
        },
        "categories": list(Category.objects.order_by("slug").values_list("slug", "name", "position")),
        "brands": [
            (
                b.slug,
                b.name,
                b.banned_terms,
                b.style_keywords,
                b.negative_keywords,
                b.trademark_allowlist,
                b.approval_policy,
                b.min_consistency_score,
                b.logo.name,
                [(c.name, c.hex, c.role, c.position) for c in b.palette.order_by("position")],
                sorted((t.role, t.font_family) for t in b.typography.all()),
            )
            for b in Brand.objects.order_by("slug")
        ],
        "materials": list(
            MaterialPreset.objects.order_by("slug").values_list("slug", "name", "finish", "reflectance")
        ),
        "styles": list(
            StylePreset.objects.order_by("slug").values_list("slug", "prompt_template", "thumbnail")
        ),
        "products": [
            (
                p.slug,
                p.name,
                p.product_type,
                p.category.slug,
                p.brand.slug,
                str(p.price),
                p.is_published,
                p.print_width_mm,
                p.print_height_mm,
                p.print_dpi,
                p.safe_margin_mm,
                p.mockup_template.name,
                p.mockup_box,
                [(c.name, c.hex, c.position) for c in p.base_colors.order_by("position")],
                sorted(p.allowed_materials.values_list("slug", flat=True)),
            )
            for p in Product.objects.select_related("category", "brand").order_by("slug")
        ],
    }


def media_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_seed_demo_twice_gives_the_same_catalogue():
    output = seed()
    assert "12 categories" in output
    first, first_files = catalogue_dump(), media_files()
    # A merchant's edits to demo rows are put back on the next run.
    tee = Product.objects.get(slug="classic-t-shirt")
    Product.objects.filter(pk=tee.pk).update(price="1.00")
    BaseColor.objects.create(product=tee, name="Stray", hex="#123456")
    seed()
    assert catalogue_dump() == first
    assert media_files() == first_files  # fixed names, overwritten: no "_abc123" copies

    # --- what the catalogue holds --------------------------------------------------------------
    assert {c.slug for c in Category.objects.all()} == CATEGORY_SLUGS
    assert Category.objects.get(slug="home-decor").name == "Home decor"
    for category in Category.objects.all():
        assert category.products.filter(is_published=True).exists(), category.slug
    types = set(Product.objects.published().values_list("product_type", flat=True))
    assert PAPER_TYPES | {"phone case", "hoodie", "tote bag"} <= types

    brands = list(Brand.objects.all())
    assert len(brands) == 2
    palettes = [{c.hex for c in b.palette.all()} for b in brands]
    assert palettes[0] != palettes[1] and all(len(p) >= 4 for p in palettes)
    assert brands[0].banned_term_list != brands[1].banned_term_list
    assert all(b.banned_term_list and b.style_keyword_list and b.negative_keyword_list for b in brands)
    allowlisted = [b for b in brands if b.trademark_allowlist_list]
    assert allowlisted and all(b.name in b.trademark_allowlist_list for b in allowlisted)
    for brand in brands:
        with brand.logo.open("rb") as fh, Image.open(fh) as logo:
            assert logo.format == "PNG" and logo.size[0] >= 64

    assert MaterialPreset.objects.count() >= 6
    assert len(set(MaterialPreset.objects.values_list("finish", flat=True))) >= 4
    assert StylePreset.objects.count() >= 6
    assert all("{subject}" in s.prompt_template for s in StylePreset.objects.all())

    for product in Product.objects.all():
        colors = product.base_colors.count()
        assert 2 <= colors <= 5, product.slug
        assert product.print_width_mm > 0 and product.print_height_mm > 0 and product.print_dpi >= 72
        assert product.allowed_materials.exists(), product.slug
        assert product.mockup_template.name == f"products/mockups/{product.slug}.png"
        with product.mockup_template.open("rb") as fh, Image.open(fh) as template:
            assert template.mode == "RGBA" and template.size == (800, 800)
        left, top, width, height = product.mockup_box
        assert left >= 0 and top >= 0 and left + width <= 1.0001 and top + height <= 1.0001
        product.full_clean()


def test_ensure_demo_admin_refuses_without_debug():
    assert settings.DEBUG is False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("ensure_demo_admin")
    assert not get_user_model().objects.filter(username="admin").exists()


def test_ensure_demo_admin_creates_and_resets_with_debug(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("ensure_demo_admin", "--port", "8123", stdout=out)
    assert "Demo admin: http://127.0.0.1:8123/admin/ user admin / password admin" in out.getvalue()
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password("admin")

    user.set_password("changed-it")
    user.is_superuser = False
    user.save()
    call_command("ensure_demo_admin", stdout=io.StringIO())
    user.refresh_from_db()
    assert user.is_superuser and user.check_password("admin")
    assert get_user_model().objects.filter(username="admin").count() == 1
