"""Image QA: dominant colours, brand consistency (CIEDE2000), sanity flags, palette harmonisation.

All colour science goes through coloraide (CIELAB D65 and ``delta_e(..., method="2000")``); numpy
and Pillow only count, resample, average coloraide's CIELAB coordinates (``dominant_colors`` merges
clusters by their squared distance there) and add per-cluster offsets. Formula, thresholds and a worked
example: docs/BRAND_CONSISTENCY.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from coloraide import Color
from PIL import Image

from personalization.specs import PaletteColorSpec

ANALYSIS_SIZE = 128  # dominant colours are measured on a copy at most this many pixels on a side
CHECK_SIZE = 256  # image checks sample at most this many pixels on a side (no averaging)
SCORE_SCALE = 20.0  # CIEDE2000 distance at which a colour scores 100 * e^-1 ≈ 37
BLACK_LEVEL = 8  # "nan_or_black": 99.5 % of pixels have no channel above this (0..255)
BLANK_STD = 2.0  # "blank": RGB standard deviation below this (one flat colour)
NEAR_UNIFORM_STD = 10.0  # "near_uniform": below this (almost no content)
HARMONIZE_CLUSTERS = 64
OVERSEGMENT = 32  # dominant_colors: median-cut colours before they are merged down to k


def _rgb(image: Image.Image) -> Image.Image:
    """RGB view of any image; transparent pixels are composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("F", "I", "I;16"):
        arr = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


@functools.lru_cache(maxsize=4096)
def _color(hex_value: str) -> Color:
    return Color(hex_value)


@functools.lru_cache(maxsize=4096)
def _lab(hex_value: str) -> tuple[float, float, float]:
    lightness, a, b = Color(hex_value).convert("lab-d65").coords()
    return lightness, a, b


def delta_e(hex_a: str, hex_b: str) -> float:
    """CIEDE2000 between two sRGB hex colours (coloraide)."""
    return _color(hex_a).delta_e(_color(hex_b), method="2000")


def dominant_colors(image: Image.Image, k: int = 5) -> list[tuple[str, float]]:
    """Up to ``k`` dominant colours as ``(hex, share)``, largest share first; shares sum to 1.

    A copy downscaled to at most 128 px on a side is median-cut (Pillow) into ``OVERSEGMENT`` colours,
    which are then merged, the pair whose merge adds least to the colours' spread in CIELAB first
    (Ward's criterion: ``n_a * n_b / (n_a + n_b) * |lab_a - lab_b|^2``), until ``k`` are left.

    Median cut alone into ``k`` colours gives its boxes to where most pixels are: a large background
    with the slight shading of any generated image takes most of them as near-identical shades, and a
    small motif in another colour is averaged with its edges into a colour that is neither. Merging
    joins the background's shades first (a tiny distance) and keeps the motif apart (a large one)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    small = _rgb(image).copy()
    small.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE), Image.Resampling.BOX)
    quantized = small.quantize(
        colors=max(k, OVERSEGMENT), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    palette = quantized.getpalette() or []
    pixels: dict[str, int] = {}
    rgb: dict[str, list[int]] = {}
    for count, index in quantized.getcolors(maxcolors=256) or []:
        key = _hex(palette[3 * index : 3 * index + 3])
        pixels[key] = pixels.get(key, 0) + count
        rgb[key] = palette[3 * index : 3 * index + 3]
    keys = sorted(pixels)
    counts = np.array([pixels[key] for key in keys], dtype=np.float64)
    rgb_sums = np.array([rgb[key] for key in keys], dtype=np.float64) * counts[:, None]
    lab_means = np.array([_lab(key) for key in keys], dtype=np.float64)
    while len(counts) > k:
        gap = lab_means[:, None, :] - lab_means[None, :, :]
        cost = counts[:, None] * counts[None, :] / (counts[:, None] + counts[None, :]) * (gap**2).sum(-1)
        np.fill_diagonal(cost, np.inf)
        a, b = divmod(int(np.argmin(cost)), len(counts))  # the first of equal costs: deterministic
        total = counts[a] + counts[b]
        lab_means[a] = (lab_means[a] * counts[a] + lab_means[b] * counts[b]) / total
        rgb_sums[a] += rgb_sums[b]
        counts[a] = total
        counts, rgb_sums, lab_means = (np.delete(array, b, axis=0) for array in (counts, rgb_sums, lab_means))
    total = counts.sum()
    merged: dict[str, float] = {}
    for count, rgb_sum in zip(counts, rgb_sums, strict=True):
        key = _hex(np.clip(np.rint(rgb_sum / count), 0, 255))
        merged[key] = merged.get(key, 0.0) + float(count / total)
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


def color_score(distance: float) -> float:
    """0..100 for a CIEDE2000 distance: 100 * exp(-(dE / 20)^2), smooth and strictly decreasing."""
    return 100.0 * math.exp(-((distance / SCORE_SCALE) ** 2))


def nearest_palette_distance(hex_value: str, palette: Sequence[PaletteColorSpec]) -> float:
    return min(delta_e(hex_value, entry.hex) for entry in palette)


def brand_consistency(image: Image.Image, palette: Sequence[PaletteColorSpec], *, k: int = 5) -> float | None:
    """Share-weighted ``color_score`` of the image's dominant colours against their nearest palette
    colour, 0..100; ``None`` for an empty palette (nothing to be consistent with)."""
    if not palette:
        return None
    score = sum(
        share * color_score(nearest_palette_distance(hex_value, palette))
        for hex_value, share in dominant_colors(image, k=k)
    )
    return max(0.0, min(100.0, score))


def image_checks(image: Image.Image) -> list[str]:
    """Flags for outputs not worth showing: "nan_or_black" (NaN/inf or black: what a diverged fp16
    VAE decode looks like), else "blank" (RGB std < 2) or "near_uniform" (RGB std < 10)."""
    if image.mode in ("F", "I"):
        raw = np.asarray(image, dtype=np.float64)
        if not np.isfinite(raw).all():
            return ["nan_or_black"]
    rgb = _rgb(image)
    step = max(1, math.ceil(max(rgb.size) / CHECK_SIZE))
    arr = np.asarray(rgb, dtype=np.float32)[::step, ::step].reshape(-1, 3)
    if np.percentile(arr.max(axis=1), 99.5) <= BLACK_LEVEL:
        return ["nan_or_black"]
    std = float(np.sqrt(arr.var(axis=0).mean()))
    if std < BLANK_STD:
        return ["blank"]
    if std < NEAR_UNIFORM_STD:
        return ["near_uniform"]
    return []


def _shifted(hex_value: str, palette_labs: Sequence[tuple[str, tuple[float, float, float]]], strength: float):
    """sRGB (0..255 floats) of ``hex_value`` with a*/b* moved ``strength`` of the way to the nearest
    palette colour (CIEDE2000); lightness is kept so shading and detail survive."""
    target_hex, (_, ta, tb) = min(palette_labs, key=lambda item: delta_e(hex_value, item[0]))
    lightness, a, b = _lab(hex_value)
    moved = Color("lab-d65", [lightness, a + (ta - a) * strength, b + (tb - b) * strength])
    return [255.0 * c for c in moved.convert("srgb").fit("srgb").coords()]


def harmonize(image: Image.Image, palette: Sequence[PaletteColorSpec], strength: float = 0.3) -> Image.Image:
    """Nudge an image's colours toward the brand palette.

    A 128 px copy is median-cut into 64 clusters and every pixel is mapped to its nearest cluster
    (Pillow, C code); each cluster colour is moved in CIELAB with coloraide
    (``_shifted``) and every pixel receives its cluster's RGB offset, so texture inside a cluster is
    kept (no posterisation). ``strength`` 0 returns an unchanged copy; alpha is preserved."""
    if not 0 <= strength <= 1:
        raise ValueError("strength must be within 0..1")
    if strength == 0 or not palette:
        return image.copy()
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    rgb = _rgb(image.convert("RGB") if alpha is not None else image)
    sample = rgb.copy()
    sample.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE), Image.Resampling.BOX)
    clusters = sample.quantize(
        colors=HARMONIZE_CLUSTERS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    quantized = rgb.quantize(palette=clusters, dither=Image.Dither.NONE)
    entries = np.array(quantized.getpalette()[: 3 * HARMONIZE_CLUSTERS], dtype=np.float32).reshape(-1, 3)
    used = np.unique(np.asarray(quantized))
    palette_labs = [(entry.hex, _lab(entry.hex)) for entry in palette]
    offsets = np.zeros((256, 3), dtype=np.float32)
    for index in used:
        offsets[index] = np.array(_shifted(_hex(entries[index]), palette_labs, strength)) - entries[index]
    pixels = np.asarray(rgb, dtype=np.float32) + offsets[np.asarray(quantized)]
    result = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")
    if alpha is not None:
        result.putalpha(alpha)
    return result
