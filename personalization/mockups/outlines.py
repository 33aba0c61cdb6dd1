"""Mockup outlines: one recognisable product silhouette per outline drawing, with its print box.

``draw_template`` draws the outline of a product type (``product_types``: the same table prompt
building uses; a category default for unknown types) in light grey shading on transparency, with
the print area outlined by a dashed guide in ``GUIDE_RGB``; it returns the print box as fractions
of the template. ``mockups.compositing`` prints a design into that box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from personalization.product_types import CATEGORIES, PRODUCT_TYPES, category_default, known

Box = tuple[float, float, float, float]  # left, top, width, height as fractions of the template
GUIDE_RGB = (0, 174, 239)
SUPERSAMPLE = 2


class _Sketch:
    """Draws in unit coordinates onto a supersampled body mask and a detail (darkening) layer."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.w, self.h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
        self.mask = Image.new("L", (self.w, self.h), 0)
        self.detail = Image.new("L", (self.w, self.h), 0)
        self._mask = ImageDraw.Draw(self.mask)
        self._detail = ImageDraw.Draw(self.detail)

    def _xy(self, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.w, y * self.h) for x, y in points]

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * self.w, y0 * self.h, x1 * self.w, y1 * self.h]

    def _len(self, value: float) -> int:
        return max(1, round(value * min(self.w, self.h)))

    def poly(self, points, fill: int = 255) -> None:
        self._mask.polygon(self._xy(points), fill=fill)

    def rect(self, x0, y0, x1, y1, radius: float = 0.0, fill: int = 255) -> None:
        self._mask.rounded_rectangle(self._box(x0, y0, x1, y1), radius=self._len(radius), fill=fill)

    def ellipse(self, x0, y0, x1, y1, fill: int = 255) -> None:
        self._mask.ellipse(self._box(x0, y0, x1, y1), fill=fill)

    def chord(self, x0, y0, x1, y1, start: float, end: float) -> None:
        self._mask.chord(self._box(x0, y0, x1, y1), start, end, fill=255)

    def ring(self, x0, y0, x1, y1, width: float) -> None:
        self._mask.ellipse(self._box(x0, y0, x1, y1), outline=255, width=self._len(width))

    def strap(self, points, width: float) -> None:
        self._mask.line(self._xy(points), fill=255, width=self._len(width), joint="curve")

    def seam(self, points, width: float = 0.004, amount: int = 60) -> None:
        self._detail.line(self._xy(points), fill=amount, width=self._len(width), joint="curve")

    def seam_ellipse(self, x0, y0, x1, y1, width: float = 0.004, amount: int = 60) -> None:
        self._detail.ellipse(self._box(x0, y0, x1, y1), outline=amount, width=self._len(width))

    def seam_arc(self, x0, y0, x1, y1, start, end, width: float = 0.004, amount: int = 60) -> None:
        self._detail.arc(self._box(x0, y0, x1, y1), start, end, fill=amount, width=self._len(width))

    def shade_poly(self, points, amount: int = 40) -> None:
        self._detail.polygon(self._xy(points), fill=amount)

    def shade_rect(self, x0, y0, x1, y1, radius: float = 0.0, amount: int = 40) -> None:
        self._detail.rounded_rectangle(self._box(x0, y0, x1, y1), radius=self._len(radius), fill=amount)


# ---- silhouettes: each draws on a _Sketch and returns the print box --------------------------------


def _tshirt(s: _Sketch) -> Box:
    s.poly([(0.40, 0.12), (0.27, 0.16), (0.09, 0.30), (0.17, 0.43), (0.28, 0.37), (0.28, 0.90),
            (0.72, 0.90), (0.72, 0.37), (0.83, 0.43), (0.91, 0.30), (0.73, 0.16), (0.60, 0.12),
            (0.56, 0.17), (0.50, 0.185), (0.44, 0.17)])  # fmt: skip
    s.seam([(0.40, 0.12), (0.44, 0.17), (0.50, 0.185), (0.56, 0.17), (0.60, 0.12)], 0.008)
    s.seam([(0.28, 0.37), (0.23, 0.20)])
    s.seam([(0.72, 0.37), (0.77, 0.20)])
    s.seam([(0.28, 0.875), (0.72, 0.875)])
    return (0.36, 0.26, 0.28, 0.34)


def _hoodie(s: _Sketch) -> Box:
    s.ellipse(0.36, 0.04, 0.64, 0.24)
    s.poly([(0.40, 0.13), (0.26, 0.17), (0.14, 0.32), (0.06, 0.78), (0.16, 0.80), (0.27, 0.42),
            (0.27, 0.90), (0.73, 0.90), (0.73, 0.42), (0.84, 0.80), (0.94, 0.78), (0.86, 0.32),
            (0.74, 0.17), (0.60, 0.13)])  # fmt: skip
    s.seam_arc(0.38, 0.06, 0.62, 0.26, 0, 180, 0.008)
    s.seam([(0.47, 0.22), (0.46, 0.32)])
    s.seam([(0.53, 0.22), (0.54, 0.32)])
    s.seam([(0.36, 0.86), (0.39, 0.68), (0.61, 0.68), (0.64, 0.86)])
    s.seam([(0.27, 0.86), (0.73, 0.86)])
    return (0.37, 0.28, 0.26, 0.26)


def _mug(s: _Sketch) -> Box:
    s.ellipse(0.58, 0.34, 0.86, 0.68)
    s.ellipse(0.64, 0.41, 0.80, 0.61, fill=0)
    s.rect(0.20, 0.24, 0.68, 0.80, 0.03)
    s.seam_ellipse(0.20, 0.22, 0.68, 0.28, 0.005)
    return (0.25, 0.33, 0.38, 0.38)


def _cap(s: _Sketch) -> Box:
    s.chord(0.20, 0.20, 0.80, 0.90, 180, 360)
    s.ellipse(0.14, 0.48, 0.86, 0.68)
    s.ellipse(0.48, 0.18, 0.52, 0.23)
    s.seam([(0.50, 0.22), (0.50, 0.55)])
    s.seam_arc(0.14, 0.48, 0.86, 0.68, 180, 360)
    return (0.38, 0.29, 0.24, 0.18)


def _superellipse(cx: float, cy: float, r: float, n: float = 3.2, steps: int = 120):
    points = []
    for i in range(steps):
        t = 2 * math.pi * i / steps
        c, s_ = math.cos(t), math.sin(t)
        points.append(
            (cx + r * math.copysign(abs(c) ** (2 / n), c), cy + r * math.copysign(abs(s_) ** (2 / n), s_))
        )
    return points


def _cushion(s: _Sketch) -> Box:
    s.poly(_superellipse(0.5, 0.5, 0.38))
    s.seam(_superellipse(0.5, 0.5, 0.365) + [_superellipse(0.5, 0.5, 0.365)[0]], 0.004, 45)
    return (0.24, 0.24, 0.52, 0.52)


def _canvas(s: _Sketch) -> Box:
    s.rect(0.18, 0.15, 0.78, 0.81)
    s.poly([(0.78, 0.15), (0.83, 0.18), (0.83, 0.84), (0.78, 0.81)])
    s.shade_poly([(0.78, 0.15), (0.83, 0.18), (0.83, 0.84), (0.78, 0.81)], 70)
    return (0.18, 0.15, 0.60, 0.66)


def _poster(s: _Sketch) -> Box:
    s.rect(0.20, 0.08, 0.80, 0.92)
    return (0.22, 0.10, 0.56, 0.80)


def _card(s: _Sketch) -> Box:
    s.rect(0.27, 0.17, 0.79, 0.83)
    s.shade_rect(0.27, 0.17, 0.79, 0.83, amount=45)
    s.rect(0.21, 0.14, 0.73, 0.86)
    s.shade_rect(0.21, 0.14, 0.73, 0.86, amount=0)
    return (0.24, 0.18, 0.46, 0.64)


def _phone_case(s: _Sketch) -> Box:
    s.rect(0.32, 0.08, 0.68, 0.92, 0.06)
    s.shade_rect(0.36, 0.12, 0.49, 0.28, 0.03, amount=55)
    s.seam_ellipse(0.38, 0.14, 0.43, 0.19, amount=90)
    s.seam_ellipse(0.38, 0.21, 0.43, 0.26, amount=90)
    return (0.34, 0.30, 0.32, 0.60)


def _laptop_sleeve(s: _Sketch) -> Box:
    s.rect(0.10, 0.24, 0.90, 0.78, 0.04)
    s.seam([(0.12, 0.27), (0.88, 0.27)], 0.006, 70)
    return (0.16, 0.32, 0.68, 0.40)


def _tote(s: _Sketch) -> Box:
    s.ring(0.30, 0.10, 0.48, 0.52, 0.03)
    s.ring(0.52, 0.10, 0.70, 0.52, 0.03)
    s.rect(0.20, 0.34, 0.80, 0.90, 0.01)
    s.seam([(0.20, 0.37), (0.80, 0.37)])
    return (0.29, 0.44, 0.42, 0.38)


def _sneaker(s: _Sketch) -> Box:
    s.poly([(0.08, 0.66), (0.10, 0.48), (0.20, 0.40), (0.30, 0.42), (0.40, 0.33), (0.50, 0.34),
            (0.62, 0.48), (0.80, 0.54), (0.92, 0.62), (0.92, 0.72), (0.08, 0.72)])  # fmt: skip
    s.shade_rect(0.08, 0.665, 0.92, 0.72, amount=35)
    s.seam([(0.40, 0.33), (0.50, 0.34), (0.55, 0.47)], 0.006)
    s.seam([(0.62, 0.48), (0.60, 0.62)])
    return (0.24, 0.46, 0.34, 0.16)


def _slipper(s: _Sketch) -> Box:
    s.ellipse(0.30, 0.12, 0.70, 0.88)
    s.shade_rect(0.32, 0.18, 0.68, 0.48, 0.12, amount=30)
    s.seam_arc(0.32, 0.30, 0.68, 0.66, 180, 360, 0.006)
    return (0.35, 0.20, 0.30, 0.26)


def _notebook(s: _Sketch) -> Box:
    s.rect(0.22, 0.10, 0.78, 0.90, 0.015)
    s.shade_rect(0.22, 0.10, 0.26, 0.90, amount=45)
    s.seam([(0.71, 0.10), (0.71, 0.90)], 0.01, 80)
    return (0.29, 0.16, 0.38, 0.68)


def _pendant(s: _Sketch) -> Box:
    s.strap([(0.34, 0.02), (0.50, 0.34), (0.66, 0.02)], 0.008)
    s.rect(0.47, 0.31, 0.53, 0.38, 0.01)
    s.ellipse(0.32, 0.36, 0.68, 0.72)
    s.seam_ellipse(0.34, 0.38, 0.66, 0.70, 0.006, 50)
    return (0.38, 0.42, 0.24, 0.24)


def _bracelet(s: _Sketch) -> Box:
    s.ellipse(0.14, 0.28, 0.86, 0.72)
    s.ellipse(0.22, 0.36, 0.78, 0.62, fill=0)
    s.shade_rect(0.14, 0.28, 0.86, 0.46, amount=40)
    return (0.32, 0.625, 0.36, 0.07)


def _water_bottle(s: _Sketch) -> Box:
    s.rect(0.41, 0.05, 0.59, 0.15, 0.02)
    s.rect(0.43, 0.13, 0.57, 0.24)
    s.rect(0.35, 0.20, 0.65, 0.92, 0.06)
    s.seam([(0.41, 0.145), (0.59, 0.145)])
    return (0.37, 0.36, 0.26, 0.44)


def _yoga_mat(s: _Sketch) -> Box:
    s.rect(0.30, 0.14, 0.70, 0.94, 0.01)
    s.rect(0.28, 0.05, 0.72, 0.17, 0.06)
    s.shade_rect(0.28, 0.05, 0.72, 0.17, 0.06, amount=45)
    return (0.32, 0.20, 0.36, 0.72)


def _ball(s: _Sketch) -> Box:
    s.ellipse(0.18, 0.18, 0.82, 0.82)
    s.seam([(0.50, 0.18), (0.50, 0.82)], 0.006, 90)
    s.seam([(0.18, 0.50), (0.82, 0.50)], 0.006, 90)
    s.seam_arc(0.02, 0.18, 0.40, 0.82, -70, 70, 0.006, 90)
    s.seam_arc(0.60, 0.18, 0.98, 0.82, 110, 250, 0.006, 90)
    return (0.33, 0.33, 0.34, 0.34)


def _skateboard(s: _Sketch) -> Box:
    s.rect(0.38, 0.04, 0.62, 0.96, 0.12)
    return (0.40, 0.16, 0.20, 0.68)


def _sunshade(s: _Sketch) -> Box:
    s.poly([(0.06, 0.28), (0.94, 0.28), (0.97, 0.70), (0.57, 0.74), (0.55, 0.62), (0.45, 0.62),
            (0.43, 0.74), (0.03, 0.70)])  # fmt: skip
    for x in (0.22, 0.38, 0.62, 0.78):
        s.seam([(x, 0.29), (x, 0.71)], 0.003, 35)
    return (0.10, 0.32, 0.80, 0.26)


def _seat_cover(s: _Sketch) -> Box:
    s.rect(0.38, 0.06, 0.62, 0.22, 0.05)
    s.rect(0.27, 0.22, 0.73, 0.68, 0.05)
    s.rect(0.23, 0.64, 0.77, 0.88, 0.05)
    s.shade_rect(0.23, 0.64, 0.77, 0.88, 0.05, amount=30)
    return (0.33, 0.28, 0.34, 0.32)


def _tag(s: _Sketch) -> Box:
    s.strap([(0.50, 0.02), (0.50, 0.24)], 0.006)
    s.ellipse(0.28, 0.22, 0.72, 0.78)
    s.seam_ellipse(0.47, 0.24, 0.53, 0.30, 0.006, 120)
    return (0.36, 0.34, 0.28, 0.32)


def _plate_frame(s: _Sketch) -> Box:
    s.rect(0.08, 0.28, 0.92, 0.74, 0.04)
    s.rect(0.14, 0.35, 0.86, 0.64, 0.02, fill=0)
    return (0.18, 0.65, 0.64, 0.07)


def _bandana(s: _Sketch) -> Box:
    s.poly([(0.10, 0.24), (0.90, 0.24), (0.50, 0.86)])
    s.rect(0.08, 0.18, 0.92, 0.27, 0.03)
    s.seam([(0.10, 0.27), (0.90, 0.27)])
    return (0.34, 0.31, 0.32, 0.24)


def _bowl(s: _Sketch) -> Box:
    s.poly([(0.17, 0.42), (0.83, 0.42), (0.75, 0.80), (0.25, 0.80)])
    s.ellipse(0.15, 0.34, 0.85, 0.50)
    s.shade_rect(0.21, 0.37, 0.79, 0.47, 0.06, amount=55)
    return (0.27, 0.52, 0.46, 0.20)


def _pet_bed(s: _Sketch) -> Box:
    s.ellipse(0.10, 0.22, 0.90, 0.84)
    s.seam_ellipse(0.20, 0.32, 0.80, 0.74, 0.01, 50)
    return (0.31, 0.40, 0.38, 0.26)


def _apron(s: _Sketch) -> Box:
    s.ring(0.38, 0.00, 0.62, 0.26, 0.012)
    s.poly([(0.36, 0.12), (0.64, 0.12), (0.66, 0.32), (0.79, 0.40), (0.77, 0.92), (0.23, 0.92),
            (0.21, 0.40), (0.34, 0.32)])  # fmt: skip
    s.strap([(0.21, 0.41), (0.08, 0.46)], 0.012)
    s.strap([(0.79, 0.41), (0.92, 0.46)], 0.012)
    s.seam([(0.34, 0.70), (0.66, 0.70)])
    return (0.35, 0.36, 0.30, 0.30)


def _cutting_board(s: _Sketch) -> Box:
    s.rect(0.42, 0.06, 0.58, 0.24, 0.05)
    s.ellipse(0.47, 0.10, 0.53, 0.16, fill=0)
    s.rect(0.20, 0.20, 0.80, 0.90, 0.05)
    return (0.27, 0.30, 0.46, 0.52)


def _round(s: _Sketch) -> Box:
    s.ellipse(0.18, 0.18, 0.82, 0.82)
    s.seam_ellipse(0.22, 0.22, 0.78, 0.78, 0.004, 40)
    return (0.29, 0.29, 0.42, 0.42)


def _towel(s: _Sketch) -> Box:
    s.rect(0.26, 0.08, 0.74, 0.92, 0.01)
    s.seam([(0.26, 0.84), (0.74, 0.84)], 0.006, 50)
    return (0.30, 0.16, 0.40, 0.62)


def _garden_flag(s: _Sketch) -> Box:
    s.strap([(0.20, 0.04), (0.20, 0.97)], 0.016)
    s.strap([(0.20, 0.08), (0.80, 0.08)], 0.012)
    s.poly([(0.24, 0.09), (0.78, 0.09), (0.78, 0.84), (0.51, 0.76), (0.24, 0.84)])
    return (0.28, 0.15, 0.46, 0.55)


def _plant_pot(s: _Sketch) -> Box:
    s.poly([(0.24, 0.32), (0.76, 0.32), (0.67, 0.88), (0.33, 0.88)])
    s.rect(0.20, 0.22, 0.80, 0.34, 0.01)
    s.shade_rect(0.20, 0.32, 0.80, 0.345, amount=40)
    return (0.32, 0.40, 0.36, 0.32)


def _stone(s: _Sketch) -> Box:
    s.poly(_superellipse(0.5, 0.5, 0.34, n=2.4))
    return (0.30, 0.30, 0.40, 0.40)


# The drawings by name; product_types.PRODUCT_TYPES says which product type uses which.
OUTLINES: dict[str, Callable[[_Sketch], Box]] = {
    "tshirt": _tshirt,
    "hoodie": _hoodie,
    "mug": _mug,
    "cap": _cap,
    "cushion": _cushion,
    "canvas": _canvas,
    "poster": _poster,
    "card": _card,
    "phone_case": _phone_case,
    "laptop_sleeve": _laptop_sleeve,
    "tote": _tote,
    "sneaker": _sneaker,
    "slipper": _slipper,
    "notebook": _notebook,
    "pendant": _pendant,
    "bracelet": _bracelet,
    "water_bottle": _water_bottle,
    "yoga_mat": _yoga_mat,
    "ball": _ball,
    "skateboard": _skateboard,
    "sunshade": _sunshade,
    "seat_cover": _seat_cover,
    "tag": _tag,
    "plate_frame": _plate_frame,
    "bandana": _bandana,
    "bowl": _bowl,
    "pet_bed": _pet_bed,
    "apron": _apron,
    "cutting_board": _cutting_board,
    "round": _round,
    "towel": _towel,
    "garden_flag": _garden_flag,
    "plant_pot": _plant_pot,
    "stone": _stone,
}

# Views of the product-type table: product type (category) -> its drawing.
SHAPES: dict[str, Callable[[_Sketch], Box]] = {
    key: OUTLINES[row.outline] for key, row in PRODUCT_TYPES.items() if row.outline is not None
}
CATEGORY_SHAPES: dict[str, Callable[[_Sketch], Box]] = {
    slug: OUTLINES[row.outline] for slug, row in CATEGORIES.items()
}


def shape_for(product_type: str, category_slug: str) -> Callable[[_Sketch], Box]:
    """The drawing of a product type: its own outline, else its category's (a poster for an unknown
    category)."""
    return OUTLINES[known(product_type, "outline") or category_default(category_slug).outline]


def draw_template(
    product_type: str, category_slug: str, size: tuple[int, int] = (800, 800), *, mark_print_area: bool = True
) -> tuple[Image.Image, Box]:
    """An RGBA product template (neutral grey shading on transparency) and its print box as fractions
    ``(left, top, width, height)``. With ``mark_print_area`` the box is outlined by a dashed guide
    in ``GUIDE_RGB`` that ``composite`` removes."""
    if size[0] < 64 or size[1] < 64:
        raise ValueError("template size must be at least 64x64")
    sketch = _Sketch(size)
    box = shape_for(product_type, category_slug)(sketch)
    mask = sketch.mask.resize(size, Image.Resampling.LANCZOS)
    detail = sketch.detail.resize(size, Image.Resampling.LANCZOS)
    m = np.asarray(mask, dtype=np.float32) / 255.0
    # rim darkening from a blurred mask gives the silhouette volume; a top light adds a soft gradient
    radius = max(2.0, 0.03 * min(size))
    rim = np.asarray(mask.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255.0
    rows = np.linspace(1.0, 0.93, size[1], dtype=np.float32)[:, None]
    shade = 238.0 * (0.80 + 0.20 * rim) * rows - 0.9 * np.asarray(detail, dtype=np.float32)
    grey = np.clip(shade, 0, 255).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.clip(m * 255.0, 0, 255).astype(np.uint8)])
    template = Image.fromarray(rgba, "RGBA")
    if mark_print_area:
        _draw_guide(template, box)
    return template, box


def _draw_guide(template: Image.Image, box: Box) -> None:
    left, top, right, bottom = print_box_pixels(box, template.size)
    width = max(2, round(min(template.size) / 400))
    dash = max(6, round(min(template.size) / 80))
    draw = ImageDraw.Draw(template)
    colour = (*GUIDE_RGB, 255)
    edges = [
        ((left, top), (right - 1, top)),
        ((right - 1, top), (right - 1, bottom - 1)),
        ((right - 1, bottom - 1), (left, bottom - 1)),
        ((left, bottom - 1), (left, top)),
    ]
    for (x0, y0), (x1, y1) in edges:
        length = max(abs(x1 - x0), abs(y1 - y0))
        for start in range(0, length, 2 * dash):
            end = min(start + dash, length)
            fx0, fx1 = x0 + (x1 - x0) * start / length, x0 + (x1 - x0) * end / length
            fy0, fy1 = y0 + (y1 - y0) * start / length, y0 + (y1 - y0) * end / length
            draw.line([(fx0, fy0), (fx1, fy1)], fill=colour, width=width)


def print_box_pixels(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` pixels (right/bottom exclusive) of a fractional box."""
    left, top, width, height = box
    return (
        round(left * size[0]),
        round(top * size[1]),
        round((left + width) * size[0]),
        round((top + height) * size[1]),
    )
