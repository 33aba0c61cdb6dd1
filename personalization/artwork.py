"""The printed artwork, composed ONCE from its layers, for the mockup and for the print file alike.

    generated design --(fit: cover/contain; optional cut-out of a plain background)--+
    brand logo (the brand's placement rules, ``mockups.logo_rect``)                  +--> compose()
    optional text or monogram layer (a brand font, a palette colour, in the safe zone) +

``compose(design, spec, px_per_mm=..., bleed_mm=...)`` draws the artwork on a transparent canvas the
size of the print area (plus bleed) at any resolution: the mockup calls it at the mockup's scale and
prints the trimmed artwork into the product's print box; the print job calls it at the product's
DPI with bleed. Nothing else draws a layer, so what the customer approves is what prints.

Pure Pillow/numpy: no torch, no ORM. ``conditioning`` builds an ``ArtworkSpec`` from the models.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter, ImageFont, ImageOps
from PIL.Image import Image

from .specs import LogoSpec, PrintAreaSpec, normalize_hex

logger = logging.getLogger(__name__)

FITS = ("cover", "contain")
TEXT_KINDS = ("line", "monogram")
TEXT_SIZES = ("small", "medium", "large")
TEXT_POSITIONS = ("top", "middle", "bottom")
TEXT_CURVES = ("straight", "arc")
MONOGRAM_LENGTHS = (2, 3)

Rect = tuple[int, int, int, int]  # (left, top, right, bottom) pixels, right/bottom exclusive


@dataclass(frozen=True, slots=True)
class TextLayer:
    """A line of text (a name, a date, a short message) or a 2-3 letter monogram, as validated by
    ``personalization.text_layers.text_layer_from`` (this class only checks its own vocabulary).

    ``font`` is the key of one of the brand's fonts (a ``brand_guides.Typography`` role: "heading",
    "body" or "accent"); ``color_hex`` is one of the brand palette's colours."""

    text: str
    kind: str = "line"
    font: str = ""
    color_hex: str = "#000000"
    size: str = "medium"
    position: str = "bottom"
    curve: str = "straight"

    def __post_init__(self) -> None:
        object.__setattr__(self, "color_hex", normalize_hex(self.color_hex))
        for name, allowed in (
            ("kind", TEXT_KINDS),
            ("size", TEXT_SIZES),
            ("position", TEXT_POSITIONS),
            ("curve", TEXT_CURVES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.text:
            raise ValueError("a text layer needs text")

    def as_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "kind": self.kind,
            "font": self.font,
            "color_hex": self.color_hex,
            "size": self.size,
            "position": self.position,
            "curve": self.curve,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> TextLayer | None:
        """The layer stored by ``as_dict`` (None for an empty or missing one)."""
        if not data or not data.get("text"):
            return None
        return cls(**{key: data[key] for key in cls.__slots__ if key in data})


@dataclass(frozen=True, slots=True)
class ArtworkSpec:
    """Everything composed onto a design, besides the design itself.

    ``font`` holds the bytes of the TTF/OTF file of ``text.font`` (needed when ``text`` is set);
    ``logo.image`` the brand logo. ``as_dict`` is the JSON frozen on an order line (no binaries)."""

    print_area: PrintAreaSpec
    fit: str = "cover"
    transparent_background: bool = False
    logo: LogoSpec | None = None
    text: TextLayer | None = None
    font: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {self.fit!r}")
        if self.text is not None and not self.font:
            raise ValueError("a text layer needs its font's bytes")

    def as_dict(self) -> dict[str, Any]:
        area = self.print_area
        logo = self.logo
        return {
            "print_area": {
                "width_mm": area.width_mm,
                "height_mm": area.height_mm,
                "dpi": area.dpi,
                "min_dpi": area.min_dpi,
                "safe_margin_mm": area.safe_margin_mm,
            },
            "fit": self.fit,
            "transparent_background": self.transparent_background,
            "logo": None
            if logo is None or logo.image is None
            else {"anchor": logo.anchor, "max_share": logo.max_share, "clear_space_mm": logo.clear_space_mm},
            "text": None if self.text is None else self.text.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Artwork:
    """The composed artwork: ``image`` (RGBA) is the print area plus bleed at ``px_per_mm``.

    ``trim`` is the print area inside it (the bleed around it), ``safe`` the trim inset by the safe
    margin; ``boxes`` where each layer was drawn ("design", "logo", "text"; a layer that was not
    drawn is absent), all in ``image``'s pixels."""

    image: Image = field(repr=False)
    px_per_mm: float
    trim: Rect
    safe: Rect
    boxes: dict[str, Rect]

    def trimmed(self) -> Image:
        """The artwork without its bleed: what the mockup prints into the product's print box."""
        return self.image.crop(self.trim)


# ---- the logo: the brand's placement rules ---------------------------------------------------------


def logo_rect(
    *,
    print_box_px: Rect,
    logo_size: tuple[int, int],
    logo: LogoSpec,
    print_area: PrintAreaSpec | None,
) -> Rect:
    """Where the logo goes inside the print box: ``(left, top, right, bottom)`` pixels.

    The print box maps the print area, so millimetres convert at ``box width px / width_mm``
    (``box height px / height_mm`` vertically). The logo keeps its aspect ratio, is at most
    ``max_share`` of the box width, and stays ``max(clear_space_mm, safe_margin_mm)`` away from
    the box edges at its anchor. Raises ValueError when the clear space leaves no room."""
    left, top, right, bottom = print_box_px
    box_w, box_h = right - left, bottom - top
    if print_area is None:
        if logo.clear_space_mm:
            raise ValueError("a logo with clear space needs the print area to convert millimetres")
        inset_x = inset_y = 0.0
    else:
        inset_mm = max(logo.clear_space_mm, print_area.safe_margin_mm)
        inset_x = inset_mm * box_w / print_area.width_mm
        inset_y = inset_mm * box_h / print_area.height_mm
    room_w, room_h = box_w - 2 * inset_x, box_h - 2 * inset_y
    if room_w < 1 or room_h < 1:
        raise ValueError("the logo's clear space leaves no room inside the print area")
    aspect = logo_size[1] / logo_size[0]
    width = min(logo.max_share * box_w, room_w, room_h / aspect)
    width_px = max(1, math.floor(width))
    # a logo thinner than a pixel at this size keeps one pixel of width and is cut to the room
    height_px = max(1, min(math.floor(width_px * aspect), math.floor(room_h)))
    horizontal, vertical = _anchor_parts(logo.anchor)
    x = {
        "left": math.ceil(left + inset_x),
        "center": left + (box_w - width_px) // 2,
        "right": math.floor(right - inset_x) - width_px,
    }[horizontal]
    y = {
        "top": math.ceil(top + inset_y),
        "center": top + (box_h - height_px) // 2,
        "bottom": math.floor(bottom - inset_y) - height_px,
    }[vertical]
    return x, y, x + width_px, y + height_px


def _anchor_parts(anchor: str) -> tuple[str, str]:
    if anchor == "center":
        return "center", "center"
    vertical, horizontal = anchor.split("-")
    return horizontal, vertical


# ---- the cut-out: a plain background made transparent ----------------------------------------------

CUTOUT_TOLERANCE = 15.0  # CIELAB ΔE76 from the border's dominant colour
CUTOUT_FEATHER_PX = 1.0  # Gaussian blur radius of the mask: the soft edge
CUTOUT_MIN_BORDER_SHARE = 0.6  # share of the border that must be the dominant colour to cut at all

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    dtype=np.float32,
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8, ``(..., 3)``) to CIELAB (D65) as float32."""
    c = rgb.astype(np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = (linear @ _SRGB_TO_XYZ.T) / _D65_WHITE
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack(
        (116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])), axis=-1
    )


def _border(values: np.ndarray) -> np.ndarray:
    """The outermost ring of an ``(h, w, ...)`` array, as ``(n, ...)``."""
    return np.concatenate((values[0], values[-1], values[1:-1, 0], values[1:-1, -1]))


def _spread_along_rows(candidate: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Every run of ``candidate`` pixels in a row that holds a reached pixel becomes reached."""
    before = np.zeros_like(candidate)
    before[:, 1:] = candidate[:, :-1]
    run = np.cumsum((candidate & ~before).ravel())  # run number of each pixel (valid on candidates)
    hit = np.zeros(run[-1] + 1, dtype=bool)
    hit[run[reached.ravel()]] = True
    return (candidate.ravel() & hit[run]).reshape(candidate.shape)


def _flood(candidate: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The ``candidate`` pixels 4-connected to ``seeds``: runs are spread along rows, then columns,
    until nothing changes (one pass per turn of the path: a few passes, each vectorised)."""
    reached = seeds & candidate
    candidate_t = np.ascontiguousarray(candidate.T)
    count = -1
    while (now := int(reached.sum())) != count:
        count = now
        reached = _spread_along_rows(candidate, reached)
        reached = np.ascontiguousarray(_spread_along_rows(candidate_t, np.ascontiguousarray(reached.T)).T)
    return reached


def cutout(
    design: Image, *, tolerance: float = CUTOUT_TOLERANCE, feather_px: float = CUTOUT_FEATHER_PX
) -> Image:
    """The design with its plain background made transparent (RGBA, same size).

    Deterministic, no model: the border's dominant colour is the most common 16-level RGB bin of
    the outermost pixel ring (its median CIELAB colour); when fewer than 60 % of the border pixels
    lie within ``tolerance`` (CIELAB ΔE76) of it, the background is not plain and the design is
    returned opaque, so a busy design never loses random holes. Otherwise every pixel within
    ``tolerance`` of that colour and 4-connected to the border (a flood fill from all border pixels)
    gets alpha 0, the rest 255, and the mask is softened by a Gaussian blur of ``feather_px``.
    An alpha channel the design already has is kept (the cut only removes)."""
    rgba = design.convert("RGBA")
    pixels = np.asarray(rgba)
    if min(rgba.size) < 3:
        return rgba
    rgb = pixels[..., :3]
    border = _border(rgb)
    keys = (border[:, 0] >> 4).astype(np.int32) << 8 | (border[:, 1] >> 4) << 4 | (border[:, 2] >> 4)
    values, counts = np.unique(keys, return_counts=True)
    mode = values[np.argmax(counts)]
    dominant = np.median(_lab(border[keys == mode]), axis=0)
    if (np.linalg.norm(_lab(border) - dominant, axis=-1) <= tolerance).mean() < CUTOUT_MIN_BORDER_SHARE:
        return rgba
    candidate = np.linalg.norm(_lab(rgb) - dominant, axis=-1) <= tolerance
    seeds = np.zeros_like(candidate)
    seeds[[0, -1], :] = True
    seeds[:, [0, -1]] = True
    background = _flood(candidate, seeds)
    mask = PILImage.fromarray(np.where(background, 0, 255).astype(np.uint8), "L")
    if feather_px > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(feather_px))
    alpha = np.minimum(np.asarray(mask), pixels[..., 3])
    return PILImage.fromarray(np.dstack((rgb, alpha)), "RGBA")


# ---- the text layer ---------------------------------------------------------------------------------

TEXT_CAP_SHARE = {"small": 0.12, "medium": 0.2, "large": 0.3}  # cap height / safe zone height
MONOGRAM_SCALE = 1.6  # a monogram's cap height against a line's of the same size
MONOGRAM_MIDDLE = 1.35  # with three letters, the middle one against the side ones
MONOGRAM_GAP = 0.08  # space between monogram letters, in font sizes
ARC_RADIUS = 0.75  # radius of the arc, in safe zone widths


def _font(font: bytes, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(io.BytesIO(font), size)


def _cap_ratio(font: bytes) -> float:
    """Cap height (the "H") per pixel of font size."""
    top = _font(font, 100).getbbox("H", anchor="ls")[1]
    return -top / 100 if top < 0 else 0.7


def _glyphs(text: TextLayer, font: bytes, size: int) -> list[tuple[str, ImageFont.FreeTypeFont, float]]:
    """(character, font, advance) of each glyph; a monogram's letters uppercased, spaced, the middle
    one of three larger."""
    letters = [ch for ch in text.text.upper() if not ch.isspace()]
    sizes = [size] * len(letters)
    if len(letters) == 3:
        sizes[0] = sizes[2] = max(1, round(size / MONOGRAM_MIDDLE))
    gap = MONOGRAM_GAP * size
    glyphs = []
    for ch, glyph_size in zip(letters, sizes, strict=True):
        glyph_font = _font(font, glyph_size)
        glyphs.append((ch, glyph_font, glyph_font.getlength(ch) + gap))
    return glyphs


def _tight(mask: Image) -> Image | None:
    bbox = mask.getbbox()
    return None if bbox is None else mask.crop(bbox)


def _straight(text: TextLayer, font: bytes, size: int) -> Image | None:
    """The text on a straight line, as a tight "L" mask."""
    if text.kind == "line":
        face = _font(font, size)
        line = " ".join(text.text.split())
        left, top, right, bottom = face.getbbox(line, anchor="ls")
        mask = PILImage.new("L", (right - left + 4, bottom - top + 4), 0)
        ImageDraw.Draw(mask).text((2 - left, 2 - top), line, font=face, fill=255, anchor="ls")
        return _tight(mask)
    glyphs = _glyphs(text, font, size)
    width = math.ceil(sum(advance for *_, advance in glyphs)) + 4 * size
    mask = PILImage.new("L", (width, 4 * size), 0)
    draw = ImageDraw.Draw(mask)
    x, middle = 2.0 * size, 2.0 * size
    for ch, face, advance in glyphs:  # letters centred on one line through their cap heights' middles
        cap = -face.getbbox("H", anchor="ls")[1]
        draw.text((x, middle + cap / 2), ch, font=face, fill=255, anchor="ls")
        x += advance
    return _tight(mask)


def _arc(text: TextLayer, font: bytes, size: int, radius: float, smile: bool) -> Image | None:
    """The glyphs along a circular arc of ``radius`` (their cap middles on it), upright at the
    apex: a frown (over the circle) or a smile (under it). Each glyph is drawn antialiased, then
    rotated with bicubic resampling."""
    if text.kind == "line":
        face = _font(font, size)
        glyphs = [(ch, face, face.getlength(ch)) for ch in " ".join(text.text.split())]
    else:
        glyphs = _glyphs(text, font, size)
    total = sum(advance for *_, advance in glyphs)
    theta = total / radius
    pieces = []
    along = 0.0
    for ch, face, advance in glyphs:
        phi = -theta / 2 + (along + advance / 2) / radius
        along += advance
        if ch.isspace():
            continue
        # a tile centred on the glyph's cap middle, just large enough for the glyph
        cap = -face.getbbox("H", anchor="ls")[1]
        x0, y0, x1, y1 = face.getbbox(ch, anchor="ms")
        half_w = math.ceil(max(-x0, x1)) + 2
        half_h = math.ceil(max(-(y0 + cap / 2), y1 + cap / 2)) + 2
        tile = PILImage.new("L", (2 * half_w, 2 * half_h), 0)
        ImageDraw.Draw(tile).text((half_w, half_h + cap / 2), ch, font=face, fill=255, anchor="ms")
        angle = math.degrees(phi) if smile else -math.degrees(phi)
        turned = tile.rotate(angle, resample=PILImage.Resampling.BICUBIC, expand=True)
        x, y = radius * math.sin(phi), (1 if smile else -1) * radius * math.cos(phi)
        pieces.append((turned, round(x - turned.width / 2), round(y - turned.height / 2)))
    if not pieces:
        return None
    left = min(x for _, x, _ in pieces)
    top = min(y for _, _, y in pieces)
    right = max(x + tile.width for tile, x, _ in pieces)
    bottom = max(y + tile.height for tile, _, y in pieces)
    mask = PILImage.new("L", (right - left, bottom - top), 0)
    for tile, x, y in pieces:
        box = (x - left, y - top, x - left + tile.width, y - top + tile.height)
        region = np.maximum(np.asarray(mask.crop(box)), np.asarray(tile))
        mask.paste(PILImage.fromarray(region, "L"), box[:2])
    return _tight(mask)


def _text_mask(text: TextLayer, font: bytes, safe: Rect) -> Image | None:
    """The text layer as a tight "L" mask sized for the safe zone: the cap height is the size's
    share of the safe zone's height (a monogram's x1.6, at most the zone's height); text too wide
    or too tall for the zone is shrunk to the largest font size that fits (a few renders: a
    proportional guess, then bisection). None when nothing can be drawn."""
    safe_w, safe_h = safe[2] - safe[0], safe[3] - safe[1]
    share = TEXT_CAP_SHARE[text.size] * (MONOGRAM_SCALE if text.kind == "monogram" else 1.0)
    size = max(1, round(min(1.0, share) * safe_h / _cap_ratio(font)))
    radius = ARC_RADIUS * safe_w

    def render(size: int) -> Image | None:
        if text.curve == "arc":
            return _arc(text, font, size, radius, smile=text.position == "bottom")
        return _straight(text, font, size)

    fitting, fitting_size, too_big = None, 0, None
    while size >= 1 and size != fitting_size and size != too_big:
        mask = render(size)
        if mask is None:
            return None
        if mask.width <= safe_w and mask.height <= safe_h:
            fitting, fitting_size = mask, size
        else:
            too_big = size
        if too_big is None:
            break  # the size asked for fits
        if fitting is None:  # shrink in proportion first
            size = min(size - 1, math.floor(size * min(safe_w / mask.width, safe_h / mask.height)))
        else:
            size = (fitting_size + too_big) // 2
    return fitting


def _place_text(mask: Image, position: str, safe: Rect) -> tuple[int, int]:
    left = safe[0] + (safe[2] - safe[0] - mask.width) // 2
    top = {
        "top": safe[1],
        "middle": safe[1] + (safe[3] - safe[1] - mask.height) // 2,
        "bottom": safe[3] - mask.height,
    }[position]
    return left, top


# ---- composition ------------------------------------------------------------------------------------


def _fit(design: Image, size: tuple[int, int], fit: str) -> tuple[Image, Rect]:
    """The design fitted to ``size`` (cover: centre crop; contain: letterboxed on transparency)
    and where its pixels lie."""
    if fit == "cover":
        return ImageOps.fit(design, size, PILImage.Resampling.LANCZOS), (0, 0, *size)
    inner = ImageOps.contain(design, size, PILImage.Resampling.LANCZOS)
    canvas = PILImage.new("RGBA", size, (0, 0, 0, 0))
    at = ((size[0] - inner.width) // 2, (size[1] - inner.height) // 2)
    canvas.paste(inner, at)
    return canvas, (*at, at[0] + inner.width, at[1] + inner.height)


def _inset(rect: Rect, by: int) -> Rect:
    left, top, right, bottom = rect
    by = max(0, min(by, (right - left - 1) // 2, (bottom - top - 1) // 2))
    return left + by, top + by, right - by, bottom - by


def compose(design: Image, spec: ArtworkSpec, *, px_per_mm: float, bleed_mm: float = 0.0) -> Artwork:
    """The artwork at ``px_per_mm``: the print area plus ``bleed_mm`` on every side, RGBA.

    The canvas is ``round((width_mm + 2 * bleed_mm) * px_per_mm)`` by the same for the height,
    transparent. The design (cut out first when ``spec.transparent_background``) is fitted to the
    whole canvas, bleed included (``spec.fit``); the logo is placed in the trim box by
    ``logo_rect`` (left out, with a logged warning, when its clear space cannot fit); the text is
    set in the safe zone (the trim inset by ``safe_margin_mm``). Same inputs, same pixels."""
    if px_per_mm <= 0:
        raise ValueError("px_per_mm must be positive")
    if bleed_mm < 0:
        raise ValueError("bleed_mm must be >= 0")
    area = spec.print_area
    size = (
        max(1, round((area.width_mm + 2 * bleed_mm) * px_per_mm)),
        max(1, round((area.height_mm + 2 * bleed_mm) * px_per_mm)),
    )
    trim = _inset((0, 0, *size), round(bleed_mm * px_per_mm))
    safe = _inset(trim, round(area.safe_margin_mm * px_per_mm))
    source = cutout(design) if spec.transparent_background else design.convert("RGBA")
    canvas, design_box = _fit(source, size, spec.fit)
    boxes = {"design": design_box}

    logo = spec.logo
    if logo is not None and logo.image is not None:
        logo_image = logo.image.convert("RGBA")
        try:
            where = logo_rect(print_box_px=trim, logo_size=logo_image.size, logo=logo, print_area=area)
        except ValueError as exc:  # a brand guide that cannot fit this product: drawn without it
            logger.warning("artwork drawn without the logo: %s", exc)
        else:
            logo_size = (where[2] - where[0], where[3] - where[1])
            scaled = logo_image.resize(logo_size, PILImage.Resampling.LANCZOS)
            canvas.alpha_composite(scaled, where[:2])
            boxes["logo"] = where

    if spec.text is not None:
        mask = _text_mask(spec.text, spec.font, safe)
        if mask is None:
            logger.warning("artwork drawn without its text: nothing fits the safe zone")
        else:
            left, top = _place_text(mask, spec.text.position, safe)
            ink = PILImage.new("RGBA", mask.size, spec.text.color_hex)
            ink.putalpha(mask)
            canvas.alpha_composite(ink, (left, top))
            boxes["text"] = (left, top, left + mask.width, top + mask.height)
    return Artwork(image=canvas, px_per_mm=px_per_mm, trim=trim, safe=safe, boxes=boxes)
