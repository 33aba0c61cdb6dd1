"""Product mockups with Pillow, in two steps:

- ``outlines``: ``draw_template`` draws a neutral product template (the outline of the product
  type, from the ``product_types`` table prompt building shares) and returns its print box;
- ``compositing``: ``composite`` prints the artwork (``personalization.artwork.compose``: design,
  logo, text) on it in the base colour and finish, scaled uniformly into ``print_rect``.

The names below are re-exported for callers that only need the two steps.
"""

from .compositing import BACKDROP_RGB, composite, logo_rect, print_box_pixels, print_rect
from .outlines import GUIDE_RGB, SHAPES, Box, draw_template, shape_for

__all__ = [
    "BACKDROP_RGB",
    "GUIDE_RGB",
    "SHAPES",
    "Box",
    "composite",
    "draw_template",
    "logo_rect",
    "print_box_pixels",
    "print_rect",
    "shape_for",
]
