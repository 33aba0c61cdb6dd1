"""Builders for the text-layer tests: a brand with real fonts (the PyPI font packages the demo
uses) and a palette, a mug with a 200 x 85 mm print area, and a finished design of a visitor."""

import io
from pathlib import Path

import font_fredoka_one
import font_lato
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from brand_guides.models import Typography
from personalization.models import GenerationImage, GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product

FREDOKA_ONE = Path(font_fredoka_one.font_files["FredokaOne"])
LATO = Path(font_lato.font_files["Lato"])
PALETTE = (
    ("Navy", "#1F2A44", "primary"),
    ("Coral", "#FF6F61", "secondary"),
    ("Cream", "#FFF4E0", "background"),
)


def brand_with_fonts(**fields):
    """A brand whose heading is Fredoka One and body Lato, with a three-colour palette."""
    fields.setdefault("banned_terms", "zebra")
    brand = make_brand(palette=PALETTE, **fields)
    for role, family, path in (("heading", "Fredoka One", FREDOKA_ONE), ("body", "Lato", LATO)):
        typography = Typography(brand=brand, role=role, font_family=family)
        typography.font_file.save(path.name, ContentFile(path.read_bytes()), save=False)
        typography.save()
    return brand


def mug(brand, **fields):
    defaults = {
        "name": "Ceramic mug",
        "slug": "ceramic-mug",
        "product_type": "mug",
        "print_width_mm": 200,
        "print_height_mm": 85,
        "print_dpi": 300,
        "min_dpi": 150,
        "colors": (("White", "#FFFFFF"), ("Black", "#111111")),
    }
    defaults.update(fields)
    return make_product(brand=brand, **defaults)


def design_png(size=(1152, 512)) -> bytes:
    """A design with some structure (bands and a disc), so a text on it changes the pixels."""
    image = Image.new("RGB", size, (236, 228, 210))
    draw = ImageDraw.Draw(image)
    w, h = size
    for i in range(0, w, w // 12):
        draw.rectangle((i, 0, i + w // 24, h), fill=(120, 170, 200))
    draw.ellipse((w // 3, h // 6, 2 * w // 3, 5 * h // 6), fill=(200, 80, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def finished_design(product, *, key="visitor-me", customer=None, size=(1152, 512)) -> GenerationImage:
    """One succeeded variation of a visitor's (or a customer's) design request for ``product``."""
    g = generation_request_create(
        product=product, base_color="White", description="a fox", session_key=key, customer=customer
    )
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    g.refresh_from_db()
    image = GenerationImage(
        request=g, index=0, seed=g.seed, width=size[0], height=size[1], brand_consistency=77
    )
    image.image.save("design.png", ContentFile(design_png(size)), save=False)
    image.mockup.save("mockup.png", ContentFile(design_png((64, 64))), save=False)
    image.save()
    return image
