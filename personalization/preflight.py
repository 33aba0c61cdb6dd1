"""The preflight the customer sees before ordering: is this design good enough to print, and what
will happen to it?

    design px + ArtworkSpec (print area, fit, logo, text) + the brand's low-resolution choice
        --> preflight() --> {"ok", "blocked", "effective_dpi", "safe_area", "crop", "messages", ...}

``preflight`` is plain arithmetic (no ORM, no torch) on the same figures as ``printing.print_file``:
the effective DPI is the design's pixels over the print area plus bleed, in inches, on the axis the
fit keeps. Below the product's minimum the brand chooses: enlarge with the print upscaler
("upscale") or refuse the order ("block"). Given a composed ``Artwork`` it also checks that the
logo and the text lie inside the safe area and do not overlap, and that a cut-out design keeps out
of the margin that may be trimmed.

``image_preflight(image)`` builds all of that for a stored variation (cached per image, brand
version and text layer); ``preflight_refusal_for(image)`` is the cheap check cart and checkout call.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from .artwork import Artwork, ArtworkSpec, TextLayer

if TYPE_CHECKING:
    from .models import GenerationImage

MM_PER_INCH = 25.4
LOW_RESOLUTION_ACTIONS = ("upscale", "block")
CROP_NOTICE_SHARE = 0.05  # a cover fit trimming more than this tells the customer
SMALL_ARTWORK_PX = 400  # the longer side of the artwork composed for the safe-area checks
CACHE_SECONDS = 3600  # a brand's font file replaced in place is seen within the hour
CACHE_VERSION = 1

TEXT_OUTSIDE = (
    "Your text reaches outside the safe area and may be trimmed: choose a smaller size or a shorter text."
)
TEXT_DOES_NOT_FIT = (
    "Your text does not fit this product's print area and would not be printed: choose a shorter text."
)
LOGO_OUTSIDE = "The brand logo reaches outside the safe area and may be trimmed."
DESIGN_IN_MARGIN = "Part of the design reaches the edge and may be trimmed."


def _mm(value: float) -> str:
    return f"{value:g}"


def _floor(value: float, digits: int = 0) -> float:
    """Rounded down (so a design just below the minimum never reads as the minimum)."""
    scale = 10**digits
    return math.floor(value * scale + 1e-9) / scale


def upscaler_label(setting: str) -> str:
    """What the customer reads for the print upscaler: "Lanczos" for the built-in resampling, else
    the model's name (the last part of a hub id or a directory: no server paths)."""
    name = PurePosixPath(str(setting or "").strip().replace("\\", "/").rstrip("/")).name
    return name or "Lanczos"


def _dpi_and_crop(design_size: tuple[int, int], spec: ArtworkSpec, bleed_mm: float):
    """(effective dpi, crop share, cropped axis) of a design fitted onto the print area plus bleed."""
    src_w, src_h = design_size
    area = spec.print_area
    width_in = (area.width_mm + 2 * bleed_mm) / MM_PER_INCH
    height_in = (area.height_mm + 2 * bleed_mm) / MM_PER_INCH
    dpi_w, dpi_h = src_w / width_in, src_h / height_in
    if spec.fit == "contain":
        # The whole design is printed, as large as fits: its pixels spread over the shorter run.
        return max(dpi_w, dpi_h), 0.0, None
    # Cover: the design fills the area; the axis with more pixels per inch is cropped to match.
    if math.isclose(dpi_w, dpi_h, rel_tol=1e-9):
        return dpi_w, 0.0, None
    share = 1 - min(dpi_w, dpi_h) / max(dpi_w, dpi_h)
    return min(dpi_w, dpi_h), share, "width" if dpi_w > dpi_h else "height"


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(box, outer) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def _other_positions(logo_box, safe) -> str:
    """Where the text could go instead: the positions whose third of the safe area the logo's
    centre is not in, e.g. "the top or middle"."""
    from .artwork import TEXT_POSITIONS

    centre = (logo_box[1] + logo_box[3]) / 2
    third = max(0, min(2, int((centre - safe[1]) * 3 // max(1, safe[3] - safe[1]))))
    others = [p for i, p in enumerate(TEXT_POSITIONS) if i != third]
    return f"the {others[0]} or {others[1]}"


def _design_in_margin(artwork: Artwork) -> bool:
    """Whether a cut-out design has visible pixels between the trim and the safe area (the logo and
    the text are checked on their own boxes)."""
    import numpy as np

    alpha = np.asarray(artwork.image.getchannel("A"))
    band = np.zeros(alpha.shape, dtype=bool)
    left, top, right, bottom = artwork.trim
    band[top:bottom, left:right] = True
    s_left, s_top, s_right, s_bottom = artwork.safe
    band[s_top:s_bottom, s_left:s_right] = False
    for name in ("logo", "text"):
        box = artwork.boxes.get(name)
        if box is not None:
            band[box[1] : box[3], box[0] : box[2]] = False
    return bool((alpha[band] > 0).any())


def _safe_area(spec: ArtworkSpec, artwork: Artwork | None) -> list[dict[str, str]]:
    if artwork is None:
        return []
    problems = []
    text_box, logo_box = artwork.boxes.get("text"), artwork.boxes.get("logo")
    if spec.text is not None and text_box is None:  # compose left it out: even its smallest size overflows
        problems.append({"layer": "text", "message": TEXT_DOES_NOT_FIT})
    if text_box is not None and not _inside(text_box, artwork.safe):
        problems.append({"layer": "text", "message": TEXT_OUTSIDE})
    if logo_box is not None and not _inside(logo_box, artwork.safe):
        problems.append({"layer": "logo", "message": LOGO_OUTSIDE})
    if text_box is not None and logo_box is not None and _overlaps(text_box, logo_box):
        where = _other_positions(logo_box, artwork.safe)
        problems.append(
            {"layer": "text", "message": f"Your text overlaps the brand logo: move it to {where}."}
        )
    if spec.transparent_background and _design_in_margin(artwork):
        problems.append({"layer": "design", "message": DESIGN_IN_MARGIN})
    return problems


def _too_few_pixels(area, dpi: float) -> str:
    return (
        f"This design has too few pixels for a {_mm(area.width_mm)} × {_mm(area.height_mm)} mm print "
        f"({_floor(dpi):.0f} dpi, the minimum is {area.min_dpi})"
    )


def preflight(
    *,
    design_size: tuple[int, int],
    spec: ArtworkSpec,
    low_resolution: str,
    bleed_mm: float,
    upscaler_label: str,
    artwork: Artwork | None = None,
) -> dict[str, Any]:
    """The preflight of a design of ``design_size`` px printed as ``spec`` says (JSON-ready).

    ``low_resolution`` is the brand's choice below the minimum ("upscale" or "block");
    ``upscaler_label`` what the customer reads for the upscaler; ``artwork`` (``artwork.compose``'s
    result, at any scale) adds the safe-area checks. Raises ValueError for bad arguments."""
    width, height = (int(v) for v in design_size)
    if width <= 0 or height <= 0:
        raise ValueError("design_size must be positive")
    if low_resolution not in LOW_RESOLUTION_ACTIONS:
        raise ValueError(f"low_resolution must be one of {LOW_RESOLUTION_ACTIONS}, got {low_resolution!r}")
    if bleed_mm < 0:
        raise ValueError("bleed_mm must be >= 0")
    area = spec.print_area
    dpi, crop_share, crop_axis = _dpi_and_crop((width, height), spec, bleed_mm)
    meets = dpi >= area.min_dpi - 1e-9
    blocked = not meets and low_resolution == "block"

    messages = []
    below = None
    if not meets:
        if blocked:
            message = f"{_too_few_pixels(area, dpi)}, and the shop does not print below its minimum."
        else:
            message = (
                f"{_too_few_pixels(area, dpi)}: the shop enlarges it with {upscaler_label} before "
                "printing, so it may look softer than on screen."
            )
        below = {"action": low_resolution, "message": message, "upscaler": upscaler_label}
        messages.append(message)

    problems = _safe_area(spec, artwork)
    messages.extend(p["message"] for p in problems)
    if crop_share > CROP_NOTICE_SHARE:
        edges = "left and right edges" if crop_axis == "width" else "top and bottom"
        messages.append(
            f"About {crop_share:.0%} of the design (its {edges}) is cut off to fill the print area."
        )

    print_w, print_h = area.pixel_size(bleed_mm)
    return {
        "ok": not blocked and not problems,
        "blocked": blocked,
        "print_size": {
            "width_mm": area.width_mm,
            "height_mm": area.height_mm,
            "width_in": round(area.width_mm / MM_PER_INCH, 2),
            "height_in": round(area.height_mm / MM_PER_INCH, 2),
            "bleed_mm": bleed_mm,
        },
        "design_px": {"width": width, "height": height},
        "print_px": {"width": print_w, "height": print_h},
        # Rounded, except below the minimum: rounded down there, so it never reads as reaching it.
        "effective_dpi": round(dpi, 1) if meets else _floor(dpi, 1),
        "target_dpi": area.dpi,
        "min_dpi": area.min_dpi,
        "meets_minimum": meets,
        "below_minimum": below,
        "safe_area": {"ok": not problems, "problems": problems},
        "crop": {"share": round(crop_share, 3), "axis": crop_axis},
        "messages": messages,
    }


def preflight_refusal(preflight: dict) -> str:
    """Why the design may not be ordered, in the customer's words; empty when it may."""
    if not preflight.get("blocked"):
        return ""
    return preflight["below_minimum"]["message"]


# --- a stored variation ----------------------------------------------------------------------------


def as_text_layer(text: TextLayer | dict | None) -> TextLayer | None:
    """A ``TextLayer`` from itself, from its ``as_dict()`` (as a cart line keeps it) or None / {}."""
    if text is None or isinstance(text, TextLayer):
        return text
    return TextLayer.from_dict(text)


def _small_artwork(image: GenerationImage, spec: ArtworkSpec, bleed_mm: float) -> Artwork:
    """The artwork composed with the longer side of the print area plus bleed about
    ``SMALL_ARTWORK_PX`` px: enough to see what crosses the safe area, cheap to draw.

    Only a cut-out design's own pixels are checked (an opaque one fills the bleed on purpose), so
    the stored design is read only then; otherwise a transparent stand-in of its shape places the
    logo and the text exactly the same."""
    from PIL import Image

    from .artwork import compose

    area = spec.print_area
    px_per_mm = SMALL_ARTWORK_PX / (max(area.width_mm, area.height_mm) + 2 * bleed_mm)
    canvas = ((area.width_mm + 2 * bleed_mm) * px_per_mm, (area.height_mm + 2 * bleed_mm) * px_per_mm)
    factor = min(1.0, max(canvas[0] / image.width, canvas[1] / image.height))
    size = (math.ceil(image.width * factor), math.ceil(image.height * factor))
    stand_in = Image.new("RGBA", size)
    if not spec.transparent_background:
        return compose(stand_in, spec, px_per_mm=px_per_mm, bleed_mm=bleed_mm)
    try:
        with image.image.open("rb") as fh:
            design = Image.open(fh, formats=["PNG"])
            design.load()
    except OSError:  # missing from the storage: the layers are still checked, the design cannot be
        return compose(stand_in, spec, px_per_mm=px_per_mm, bleed_mm=bleed_mm)
    # Shrunk first to what covers the canvas: the cut-out and the fit then work on ~400 px, not 1024.
    if design.size != size:
        design = design.resize(size, Image.Resampling.BOX)
    return compose(design, spec, px_per_mm=px_per_mm, bleed_mm=bleed_mm)


def _cache_key(image: GenerationImage, text: TextLayer | None, info, settings: tuple) -> str:
    req = image.request
    brand = req.brand
    parts = [
        str(image.pk),
        image.image.name,
        str(brand.pk),
        brand.updated_at.isoformat() if brand.updated_at else "",
        brand.revision,  # its palette, font and protected-name rows too (brand_guides.services)
        req.reference_fit,
        req.transparent_background,
        info.print_area.as_dict(),
        None if text is None else text.as_dict(),
        settings,
    ]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"personalization:preflight:{CACHE_VERSION}:{digest}"


def image_preflight(image: GenerationImage, *, text: TextLayer | None = None) -> dict[str, Any]:
    """The preflight of a stored variation as this request prints it (its product's print area, its
    fit and background, the brand's logo and low-resolution choice, and ``text`` when given).

    Cached per image, brand version and revision, text layer, print area and print settings: an API
    list asks for every image, and composing the artwork reads the design and the brand's logo."""
    from .caching import cache_get, cache_set
    from .conditioning import artwork_spec_for
    from .conf import conf
    from .selectors import request_product_info

    req = image.request
    info = request_product_info(req)
    bleed_mm = float(conf.PRINT_BLEED_MM)
    label = upscaler_label(conf.PRINT_UPSCALER)
    key = _cache_key(image, text, info, (bleed_mm, label))
    cached = cache_get(key)  # an unreachable cache is a miss (personalization.caching)
    if cached is not None:
        return cached
    spec = artwork_spec_for(req, text=text)
    result = preflight(
        design_size=(image.width, image.height),
        spec=spec,
        low_resolution=req.brand.low_resolution,
        bleed_mm=bleed_mm,
        upscaler_label=label,
        artwork=_small_artwork(image, spec, bleed_mm),
    )
    cache_set(key, result, CACHE_SECONDS)
    return result


def preflight_refusal_for(image: GenerationImage, text: TextLayer | None = None) -> str:
    """Why this variation may not be ordered for its resolution ("" when it may). Free unless the
    brand blocks low-resolution designs; then the (cached) preflight the customer saw decides."""
    if image.request.brand.low_resolution != "block":
        return ""
    return preflight_refusal(image_preflight(image, text=text))
