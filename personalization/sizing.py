"""The design's shape: the print area's aspect ratio within the preset's pixel budget. No torch, no ORM.

A request's ``size`` (one of the preset's ``sizes``, e.g. 512 or 768) is a PIXEL BUDGET: the side of
the square with the same pixel count. :func:`shaped_size` turns it into the width and height the
model generates at, shaped like the product's print area, so a mug's 200 x 85 mm strip is
generated at 1152 x 512 px (768 x 768 px' worth) instead of being cropped out of a square:

    for each height h, a multiple of 64 from (size / 2 rounded down to 64, at least 64) to
    min(2048, 2 x size): w = floor(size² / h / 64) x 64 (at most 2048, at least that same minimum);
    the (w, h) whose |log(w / h) - log(aspect)| is smallest wins, ties going to the larger area.

A print area within 2% of square keeps the square budget itself (even a size that is not a multiple
of 64). A portrait area gets the transposed landscape answer, so the rule is symmetric.

:func:`fit_reference` fits an img2img reference picture to that size before it is encoded (cover or
contain, the customer's choice); :func:`budget_of` reads the budget back from a width and height.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .presets import MAX_SIZE, MIN_SIZE

if TYPE_CHECKING:
    from PIL.Image import Image

SQUARE_TOLERANCE = math.log(1.02)  # print areas this close to square are generated square
REFERENCE_FITS = ("cover", "contain")  # the same words as artwork.FITS, for the reference picture


def shaped_size(size: int, aspect: float, *, multiple: int = 64) -> tuple[int, int]:
    """(width, height) in pixels for a pixel budget ``size`` and a print area's ``aspect``
    (width / height): multiples of ``multiple``, width x height <= size², within the engine's
    limits (64 to 2048 px). E.g. ``shaped_size(768, 200 / 85) == (1152, 512)``."""
    if not isinstance(aspect, int | float) or not math.isfinite(aspect) or aspect <= 0:
        raise ValueError(f"aspect must be a positive finite number, got {aspect!r}")
    target = math.log(aspect)
    if abs(target) < SQUARE_TOLERANCE:
        return size, size
    if target < 0:  # portrait: the landscape answer, transposed
        width, height = shaped_size(size, 1 / aspect, multiple=multiple)
        return height, width
    least = max(multiple, MIN_SIZE, (size // 2) // multiple * multiple)
    # The square budget itself is a candidate: a shape is never further from the print area than it
    # (matters for a budget that is not a multiple of ``multiple``, e.g. 288 at 16:15).
    best, best_rank = (size, size), (round(abs(target), 9), -size * size)
    for height in range(least, min(MAX_SIZE, 2 * size) + 1, multiple):
        width = min(MAX_SIZE, size * size // height // multiple * multiple)
        if width < least:
            continue
        # rounded, so that a tie (e.g. 5:1 and 2:1 around sqrt(10)) is a tie in both orientations
        rank = (round(abs(math.log(width / height) - target), 9), -width * height)
        if rank < best_rank:
            best, best_rank = (width, height), rank
    return best


def budget_of(width: int, height: int, sizes) -> int:
    """The pixel budget a ``width`` x ``height`` design was made with: the preset's size (of
    ``sizes``) that :func:`shaped_size` turns into that shape; else the smallest whose square holds
    it; else (a size since removed from the preset) the side of the square with as many pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"not a size: {width} x {height}")
    sizes = sorted(sizes)
    for size in sizes:
        if shaped_size(size, width / height) == (width, height):
            return size
    holding = [size for size in sizes if size * size >= width * height]
    return holding[0] if holding else math.isqrt(width * height)


def fit_reference(image: Image, size: tuple[int, int], fit: str = "cover") -> Image:
    """The reference picture as an RGB image of exactly ``size`` (width, height).

    ``cover``: scaled to fill the size and centre-cropped (``ImageOps.fit``): nothing is padded,
    the sides of a picture of another shape are lost. ``contain``: scaled to fit whole
    (``ImageOps.contain``) and centred on a canvas filled with the mean colour of the picture's
    border pixels (its outermost row and column on each side), so the padding continues the
    picture's own edge instead of adding black or white bars for the model to draw."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    if fit not in REFERENCE_FITS:
        raise ValueError(f"fit must be one of {REFERENCE_FITS}, got {fit!r}")
    rgb = image.convert("RGB")
    if rgb.size == tuple(size):
        return rgb
    if fit == "cover":
        return ImageOps.fit(rgb, size, method=PILImage.Resampling.LANCZOS)
    inner = ImageOps.contain(rgb, size, method=PILImage.Resampling.LANCZOS)
    canvas = PILImage.new("RGB", size, _border_mean(rgb))
    canvas.paste(inner, ((size[0] - inner.width) // 2, (size[1] - inner.height) // 2))
    return canvas


def _border_mean(image: Image) -> tuple[int, int, int]:
    """The mean RGB colour of the outermost pixels of ``image`` (each border pixel counted once)."""
    import numpy as np

    pixels = np.asarray(image, dtype=np.float64)
    if pixels.shape[0] <= 2 or pixels.shape[1] <= 2:
        border = pixels.reshape(-1, 3)
    else:
        border = np.concatenate(
            [pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]]  # top, bottom, left, right
        )
    return tuple(int(round(c)) for c in border.mean(axis=0))
