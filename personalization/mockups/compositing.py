"""Mockup compositing: the design printed on a product template drawn by ``mockups.outlines``.

``composite`` tints the template with the base colour, prints the design into the print box like
ink, renders the finish and places the brand logo under its constraints (``logo_rect``). The
template's dashed print-area guide is removed first.
"""

from __future__ import annotations

import functools
import logging
import math

import numpy as np
from coloraide import Color
from PIL import Image, ImageChops, ImageOps

from personalization.specs import FINISHES, LogoSpec, PrintAreaSpec, normalize_hex

from .outlines import Box, print_box_pixels

logger = logging.getLogger(__name__)

BACKDROP_RGB = (244, 244, 244)
LIGHT_BASE_LIGHTNESS = 55.0  # CIELAB L* above which a base colour counts as light (ink multiplies)
TRANSPARENT_BODY_OPACITY = 0.45
# Highlight strength (at reflectance 1) and band width (fraction of product width) per finish.
FINISH_HIGHLIGHT = {"matte": (0.0, 0.0), "satin": (0.28, 0.16), "gloss": (0.6, 0.07), "metallic": (0.4, 0.1)}
FINISH_HIGHLIGHT["transparent"] = (0.35, 0.06)

__all__ = ["BACKDROP_RGB", "FINISH_HIGHLIGHT", "composite", "logo_rect", "print_box_pixels"]


def logo_rect(
    *,
    print_box_px: tuple[int, int, int, int],
    logo_size: tuple[int, int],
    logo: LogoSpec,
    print_area: PrintAreaSpec | None,
) -> tuple[int, int, int, int]:
    """Where the logo goes inside the print box: ``(left, top, right, bottom)`` pixels.

    The print box maps the print area, so millimetres convert at ``box width px / width_mm``
    (``box height px / height_mm`` vertically). The logo keeps its aspect ratio, is at most
    ``max_share`` of the box width, and stays ``max(clear_space_mm, safe_margin_mm)`` away from
    the box edges at its anchor."""
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
    height_px = max(1, math.floor(width_px * aspect))
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


def _strip_guide(template: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Shading ("L") and alpha ("L") of the template, with the dashed print-area guide painted over
    by the brightest neighbouring shading a guide's width away."""
    rgba = template.convert("RGBA")
    red, _, blue, alpha = rgba.split()
    grey = rgba.convert("RGB").convert("L")
    # the shading is neutral (R = G = B); the guide is the only strongly blue thing on a template
    guide_mask = ImageChops.multiply(
        ImageChops.subtract(blue, red).point(lambda v: 255 if v > 120 else 0),
        alpha.point(lambda v: 255 if v else 0),
    )
    bbox = guide_mask.getbbox()
    if bbox is None:
        return grey, alpha
    step = 2 * max(2, round(min(template.size) / 400)) + 1
    crop = (
        max(0, bbox[0] - step),
        max(0, bbox[1] - step),
        min(grey.width, bbox[2] + step),
        min(grey.height, bbox[3] + step),
    )
    region = np.asarray(grey.crop(crop)).copy()
    guide = np.asarray(guide_mask.crop(crop)) > 0
    region[guide] = 0
    fill = np.zeros_like(region)
    fill[step:] = np.maximum(fill[step:], region[:-step])
    fill[:-step] = np.maximum(fill[:-step], region[step:])
    fill[:, step:] = np.maximum(fill[:, step:], region[:, :-step])
    fill[:, :-step] = np.maximum(fill[:, :-step], region[:, step:])
    region[guide] = fill[guide]
    grey.paste(Image.fromarray(region, "L"), crop[:2])
    return grey, alpha


def _fit_design(design: Image.Image, size: tuple[int, int], fit: str) -> Image.Image:
    design = design.convert("RGBA")
    if fit == "cover":
        return ImageOps.fit(design, size, Image.Resampling.LANCZOS)
    if fit == "contain":
        inner = ImageOps.contain(design, size, Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        canvas.paste(inner, ((size[0] - inner.width) // 2, (size[1] - inner.height) // 2))
        return canvas
    raise ValueError("fit must be 'cover' or 'contain'")


def _layer(image: Image.Image, rect: tuple[int, int, int, int], size: tuple[int, int]):
    """``image`` placed at ``rect`` on a transparent canvas of ``size``: (RGB, alpha) images."""
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.paste(image, rect[:2])
    return canvas.convert("RGB"), canvas.getchannel("A")


def _is_light(hex_value: str) -> bool:
    return Color(hex_value).convert("lab-d65")["lightness"] > LIGHT_BASE_LIGHTNESS


def _across(body: Image.Image, values: np.ndarray) -> Image.Image:
    """An "L" image varying across the product's width (``values`` maps 0..1 of the width to 0..255)."""
    bbox = body.getbbox()
    w, h = body.size
    x0, x1 = (bbox[0], bbox[2]) if bbox else (0, w)
    u = (np.arange(w, dtype=np.float32) - x0) / max(1, x1 - x0)
    row = np.clip(np.rint(values(u)), 0, 255).astype(np.uint8)
    return Image.fromarray(row[None, :], "L").resize((w, h), Image.Resampling.NEAREST)


@functools.lru_cache(maxsize=4)
def _grain(size: tuple[int, int]) -> Image.Image:
    noise = np.random.default_rng(0).normal(128.0, 3.0, size=(size[1], size[0]))
    return Image.fromarray(np.clip(np.rint(noise), 0, 255).astype(np.uint8), "L").convert("RGB")


def _finish(colour: Image.Image, body: Image.Image, finish: str, reflectance: float) -> Image.Image:
    """Renders the finish on the product body: highlight band (screen), metallic sheen, matte grain."""
    if finish == "matte":
        grained = ImageChops.add(colour, _grain(colour.size), scale=1.0, offset=-128)
        return Image.composite(grained, colour, body)
    if finish == "metallic":
        sheen = _across(
            body, lambda u: 255.0 * (1.0 - reflectance * 0.35 * (1 - np.cos(2 * np.pi * (u - 0.3))))
        )
        colour = Image.composite(ImageChops.multiply(colour, sheen.convert("RGB")), colour, body)
    strength, band_width = FINISH_HIGHLIGHT[finish]
    if strength and reflectance:
        band = _across(
            body, lambda u: 255.0 * strength * reflectance * np.exp(-(((u - 0.3) / band_width) ** 2))
        )
        band = ImageChops.multiply(band, body)
        colour = ImageChops.screen(colour, band.convert("RGB"))
    return colour


def composite(
    *,
    design: Image.Image,
    template: Image.Image,
    box: Box,
    base_color_hex: str,
    finish: str,
    reflectance: float,
    logo: LogoSpec | None = None,
    print_area: PrintAreaSpec | None = None,
    fit: str = "cover",
) -> Image.Image:
    """The design printed on the product: an RGB mockup the size of ``template``.

    The template's grey shading is multiplied by the base colour; the design fills the print box
    (``fit`` "cover" crops, "contain" letterboxes; aspect kept) and is blended like ink: multiply on
    light bases (CIELAB L* > 55), normal on dark ones, following the shading; the logo is placed by
    ``logo_rect`` (left out, with a logged warning, when its clear space cannot fit the print
    area); then the finish is rendered and the product is set on a light backdrop.
    All blending is Pillow's C code (ImageChops), so an 800 px mockup takes a few tens of ms."""
    if finish not in FINISHES:
        raise ValueError(f"finish must be one of {FINISHES}")
    if not 0 <= reflectance <= 1:
        raise ValueError("reflectance must be within 0..1")
    base_hex = normalize_hex(base_color_hex)
    size = template.size
    shade, body = _strip_guide(template)
    shade_rgb = shade.convert("RGB")
    colour = ImageChops.multiply(shade_rgb, Image.new("RGB", size, base_hex))  # tint
    # ink follows the fabric's folds; the flat centre of the shading (~0.93) leaves it unchanged
    ink_shade = shade.point(lambda v: min(255, round(v / 0.93))).convert("RGB")

    rect = print_box_pixels(box, size)
    box_size = (max(1, rect[2] - rect[0]), max(1, rect[3] - rect[1]))
    design_rgb, design_a = _layer(_fit_design(design, box_size, fit), rect, size)
    ink = ImageChops.multiply(colour if _is_light(base_hex) else ink_shade, design_rgb)
    ink_a = ImageChops.multiply(design_a, body)
    colour = Image.composite(ink, colour, ink_a)

    where = None
    if logo is not None and logo.image is not None:
        logo_image = logo.image.convert("RGBA")
        try:
            where = logo_rect(print_box_px=rect, logo_size=logo_image.size, logo=logo, print_area=print_area)
        except ValueError as exc:  # a preview must not fail on a brand guide that cannot fit here
            logger.warning("mockup drawn without the logo: %s", exc)
    if where is not None:
        scaled = logo_image.resize((where[2] - where[0], where[3] - where[1]), Image.Resampling.LANCZOS)
        logo_rgb, logo_a = _layer(scaled, where, size)
        logo_a = ImageChops.multiply(logo_a, body)
        colour = Image.composite(ImageChops.multiply(logo_rgb, ink_shade), colour, logo_a)
        ink_a = ImageChops.lighter(ink_a, logo_a)

    colour = _finish(colour, body, finish, reflectance)
    alpha = body
    if finish == "transparent":
        body_a = body.point(lambda v: round(v * TRANSPARENT_BODY_OPACITY))
        alpha = ImageChops.add(body_a, ImageChops.multiply(ImageChops.subtract(body, body_a), ink_a))
    return Image.composite(colour, Image.new("RGB", size, BACKDROP_RGB), alpha)
