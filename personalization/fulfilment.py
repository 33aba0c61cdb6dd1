"""Print-on-demand export of one ordered design: the line of an order document in the shape that
print-on-demand APIs take (Printful's and Printify's order APIs; docs/FULFILMENT.md maps the fields).

Reads a ``LineDesign`` and its stored files; writes nothing. The host builds the order around the
lines (shipping, plain lines) and says how a file is reached (``url_for``: an absolute URL of the
private-file view, a signed S3 URL, or a path inside a ZIP).

Geometry, in inches (what partner APIs take), relative to the print area's trim box (top left 0, 0):
the print file covers the trim plus the bleed on every side, so with a print area of ``w`` x ``h``
mm and a bleed of ``b`` mm the file layer is ``(w + 2b) / 25.4`` x ``(h + 2b) / 25.4`` in, at
``top = left = -b / 25.4``. The bleed is read back from the stored PNG (its pixel size at the area's
DPI), so the document describes the file as rendered; before the file exists it is the bleed the
print job will use (``PERSONALIZATION["PRINT_BLEED_MM"]``) and the line's status is
``print_file_pending`` (its URLs null).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageFont

from .conf import conf
from .product_types import type_key
from .specs import normalize_category_slug

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from .models import LineDesign

logger = logging.getLogger(__name__)

MM_PER_INCH = 25.4
PLACEMENT = "front"
READY = "ready"
PENDING = "print_file_pending"
# A line the shop has not approved (personalization.approval): no file URL is given out.
PENDING_REVIEW = "pending_review"
REJECTED = "rejected"
# A print job given up after PRINT_MAX_ATTEMPTS tries (personalization.print_jobs): no print file is
# given out, whatever an earlier job left, until the shop retries it and it succeeds.
FAILED = "print_file_failed"

# How each category is usually printed on demand (a partner may offer others).
CATEGORY_TECHNIQUES = {
    "apparel": "dtg",
    "accessories": "sublimation",
    "home-decor": "sublimation",
    "electronics-cases": "uv",
    "footwear": "sublimation",
    "stationery": "digital",
    "jewelry": "engraving",
    "sports-equipment": "sublimation",
    "automotive-accessories": "sublimation",
    "pet-products": "sublimation",
    "kitchen-items": "sublimation",
    "garden-accessories": "uv",
}
# Product types printed differently from the rest of their category.
TYPE_TECHNIQUES = {
    "mug": "sublimation",
    "coffee mug": "sublimation",
    "poster": "digital",
    "canvas": "digital",
    "canvas print": "digital",
    "greeting card": "digital",
    "postcard": "digital",
    "sticker": "digital",
    "cutting board": "engraving",
    "phone case": "uv",
}
DEFAULT_TECHNIQUE = "digital"


def technique_for(product_type: str, category_slug: str = "") -> str:
    """ "dtg", "sublimation", "uv", "engraving" or "digital" for a product type and category."""
    key = type_key(product_type or "")
    for candidate in (key, key.removesuffix("s")):
        if candidate in TYPE_TECHNIQUES:
            return TYPE_TECHNIQUES[candidate]
    return CATEGORY_TECHNIQUES.get(normalize_category_slug(category_slug or ""), DEFAULT_TECHNIQUE)


def inches(mm: float) -> float:
    return round(mm / MM_PER_INCH, 4)


def _sha256(field: FieldFile) -> str:
    digest = hashlib.sha256()
    with field.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def line_external_id(design: LineDesign) -> str:
    """``pz-`` + 16 hex characters of sha256("<order line pk>:<design pk>:<design image sha256>"):
    the same for every export of the same line, different when the line is frozen anew."""
    try:
        image_sha = _sha256(design.image)
    except (OSError, ValueError):  # a missing file: its (deterministic) name stands in
        logger.warning("Design image of line %s unreadable; external id from its name", design.order_line_id)
        image_sha = design.image.name
    raw = f"{design.order_line_id}:{design.pk}:{image_sha}"
    return "pz-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def _png_size(field: FieldFile) -> tuple[int, int] | None:
    """The stored PNG's pixel size (its header only), or None when there is no readable file."""
    if not field:
        return None
    try:
        with field.open("rb") as fh, Image.open(fh) as image:
            return image.size
    except (OSError, ValueError):
        logger.warning("Print file %s unreadable", field.name)
        return None


def _bleed_mm(width_mm: float, dpi: int, png_size: tuple[int, int] | None) -> float:
    """The bleed of the rendered file (to 0.1 mm: its width is rounded to whole pixels), or the
    configured bleed before it is rendered."""
    if png_size is None:
        return float(conf.PRINT_BLEED_MM)
    return max(0.0, round((png_size[0] / dpi * MM_PER_INCH - width_mm) / 2, 1))


def _font_family(design: LineDesign, key: str) -> str:
    """The family name inside the frozen font file; the brand font's key when unreadable."""
    if not design.text_font:
        return key
    try:
        with design.text_font.open("rb") as fh:
            return ImageFont.truetype(io.BytesIO(fh.read()), 12).getname()[0] or key
    except (OSError, ValueError):
        return key


def _text_layer(design: LineDesign, text: dict, *, width_mm: float, height_mm: float, margin_mm: float):
    """The customer's text, for the record: it is drawn into the print file (``baked_into``);
    ``position`` is the safe zone it was set in, ``align`` where in it."""
    return {
        "type": "text",
        "baked_into": "file",
        "text": text.get("text", ""),
        "kind": text.get("kind", "line"),
        "font": _font_family(design, text.get("font", "")),
        "font_key": text.get("font", ""),
        "color": text.get("color_hex", ""),
        "size": text.get("size", ""),
        "align": text.get("position", ""),
        "curve": text.get("curve", ""),
        "position": {
            "area_width": inches(width_mm),
            "area_height": inches(height_mm),
            "width": inches(width_mm - 2 * margin_mm),
            "height": inches(height_mm - 2 * margin_mm),
            "top": inches(margin_mm),
            "left": inches(margin_mm),
        },
    }


def line_fulfilment(
    design: LineDesign,
    *,
    quantity: int,
    variant: dict[str, Any],
    url_for: Callable[[FieldFile], str],
    category_slug: str = "",
) -> dict[str, Any]:
    """One personalized order line as a print-on-demand item (JSON-ready; module doc: geometry).

    ``variant`` is the host's description of the product variant (sku, product, product_type,
    color, color_hex); ``category_slug`` picks the print technique with the product type;
    ``url_for(field_file)`` gives the URL (or path) of a stored file. Same design, same document."""
    from .approval import ReviewState, fulfilment_refusal

    area = design.print_area or {}
    width_mm, height_mm = float(area.get("width_mm", 0)), float(area.get("height_mm", 0))
    dpi = int(area.get("dpi", 300))
    margin_mm = float(area.get("safe_margin_mm", 0))
    refusal = fulfilment_refusal(design)
    failed = design.print_job_failed_at is not None
    # Nothing of an unapproved line goes to a printer: no print file, no URL; nor a failed one's.
    png_size = None if refusal or failed else _png_size(design.print_file)
    ready = png_size is not None
    bleed = _bleed_mm(width_mm, dpi, png_size)
    full_w, full_h = width_mm + 2 * bleed, height_mm + 2 * bleed

    layers: list[dict[str, Any]] = [
        {
            "type": "file",
            "url": url_for(design.print_file) if ready else None,
            "filename": "print.png",
            "mime": "image/png",
            "position": {
                "area_width": inches(width_mm),
                "area_height": inches(height_mm),
                "width": inches(full_w),
                "height": inches(full_h),
                "top": -inches(bleed),
                "left": -inches(bleed),
            },
        }
    ]
    text = (design.composition or {}).get("text")
    if text and text.get("text"):
        layers.append(_text_layer(design, text, width_mm=width_mm, height_mm=height_mm, margin_mm=margin_mm))

    pdf_ready = ready and bool(design.print_pdf)
    files = [
        {
            "type": "print_png",
            "status": READY if ready else _file_pending(failed, refusal),
            "url": url_for(design.print_file) if ready else None,
            "width_px": png_size[0] if ready else round(full_w / MM_PER_INCH * dpi),
            "height_px": png_size[1] if ready else round(full_h / MM_PER_INCH * dpi),
            "dpi": dpi,
        },
        {
            "type": "print_pdf",
            "status": READY if pdf_ready else _file_pending(failed, refusal),
            "url": url_for(design.print_pdf) if pdf_ready else None,
            # PDF boxes: [x0, y0, x1, y1] in inches from the page's bottom left.
            "trim_box_in": [
                inches(bleed),
                inches(bleed),
                inches(bleed + width_mm),
                inches(bleed + height_mm),
            ],
            "bleed_box_in": [0.0, 0.0, inches(full_w), inches(full_h)],
        },
        {
            "type": "mockup",
            "status": READY if design.mockup and not refusal else "pending",
            "url": url_for(design.mockup) if design.mockup and not refusal else None,
        },
    ]
    if refusal:
        status = REJECTED if design.review_state == ReviewState.REJECTED else PENDING_REVIEW
    elif failed:
        status = FAILED
    else:
        status = READY if ready else PENDING
    product_type = variant.get("product_type", "")
    return {
        "external_id": line_external_id(design),
        "variant": dict(variant),
        "quantity": quantity,
        "placements": [
            {
                "placement": PLACEMENT,
                "technique": technique_for(product_type, category_slug),
                "area": {
                    "width_in": inches(width_mm),
                    "height_in": inches(height_mm),
                    "bleed_in": inches(bleed),
                    "dpi": dpi,
                },
                "layers": layers,
            }
        ],
        "files": files,
        "recipe": design.recipe,
        "preflight": design.preflight,
        "print_warnings": design.print_warnings,
        "review": {
            "state": design.review_state,
            "reason": design.review_reason,
            "reviewed_at": design.reviewed_at.isoformat() if design.reviewed_at else None,
        },
        "status": status,
    }


def _file_pending(failed: bool, refusal) -> str:
    """A print file's status when it is not ready: "failed" (its job was given up), else "pending"."""
    return "failed" if failed and not refusal else "pending"


def fulfilment_files(design: LineDesign) -> list[tuple[str, FieldFile]]:
    """The line's files a printer takes, as (file name, stored file): the print PNG and PDF and the
    mockup, those that exist; none before the shop has approved the design, and no print file of a
    failed print job (whatever an earlier job left)."""
    from .approval import fulfilment_refusal

    if fulfilment_refusal(design):
        return []
    named = (("print.png", design.print_file), ("print.pdf", design.print_pdf), ("mockup.png", design.mockup))
    if design.print_job_failed_at is not None:
        named = named[2:]
    return [(name, field) for name, field in named if field]
