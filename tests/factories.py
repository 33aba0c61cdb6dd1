"""Small model builders shared by the tests (plain functions, explicit defaults)."""

import io
import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model
from PIL import Image

from brand_guides.models import Brand, MaterialPreset, PaletteColor, StylePreset
from shop.models import BaseColor, Category, Product

_seq = itertools.count(1)


def make_user(username: str | None = None, *, password: str = "pass-w0rd-long", **extra):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(
        username=username, password=password, email=f"{username}@example.com", **extra
    )


def make_brand(
    *,
    name: str | None = None,
    palette=(("Ocean", "#1D4E89", "primary"), ("Sand", "#F2D0A4", "secondary")),
    **fields,
) -> Brand:
    n = next(_seq)
    brand = Brand.objects.create(name=name or f"Brand {n}", slug=fields.pop("slug", f"brand-{n}"), **fields)
    for i, (cname, hex_, role) in enumerate(palette):
        PaletteColor.objects.create(brand=brand, name=cname, hex=hex_, role=role, position=i)
    return brand


def make_material(**fields) -> MaterialPreset:
    n = next(_seq)
    defaults = {
        "name": f"Cotton {n}",
        "slug": f"cotton-{n}",
        "finish": "matte",
        "reflectance": 0.1,
        "texture_description": "soft woven cotton",
        "prompt_keywords": "soft cotton texture",
    }
    defaults.update(fields)
    return MaterialPreset.objects.create(**defaults)


def make_style(**fields) -> StylePreset:
    n = next(_seq)
    defaults = {
        "name": f"Watercolor {n}",
        "slug": f"watercolor-{n}",
        "prompt_template": "delicate watercolor painting of {subject}",
    }
    defaults.update(fields)
    return StylePreset.objects.create(**defaults)


def make_category(**fields) -> Category:
    n = next(_seq)
    defaults = {"name": f"Apparel {n}", "slug": f"apparel-{n}"}
    defaults.update(fields)
    return Category.objects.create(**defaults)


def make_product(
    *, brand=None, category=None, colors=(("White", "#FFFFFF"), ("Black", "#111111")), materials=(), **fields
) -> Product:
    n = next(_seq)
    defaults = {
        "name": f"T-shirt {n}",
        "slug": f"t-shirt-{n}",
        "product_type": "t-shirt",
        "price": Decimal("24.00"),
        "print_width_mm": 250,
        "print_height_mm": 300,
        "print_dpi": 300,
    }
    defaults.update(fields)
    product = Product.objects.create(
        brand=brand or make_brand(), category=category or make_category(), **defaults
    )
    for i, (cname, hex_) in enumerate(colors):
        BaseColor.objects.create(product=product, name=cname, hex=hex_, position=i)
    if materials:
        product.allowed_materials.set(materials)
    return product


def png(size=(64, 64), color=(200, 40, 40)) -> bytes:
    """A small solid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def visitor(client, key: str):
    """The client as an anonymous visitor with this key (the owner key of its generations and cart)."""
    session = client.session
    session["visitor_key"] = key
    session.save()
    return client
