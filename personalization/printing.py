"""Print-ready files: the design at the print area's physical size plus bleed, in sRGB, with its DPI."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageOps

from personalization.specs import PrintAreaSpec

MM_PER_INCH = 25.4

Upscaler = Callable[[Image.Image, tuple[int, int]], Image.Image]


@dataclass(frozen=True, slots=True)
class PrintFile:
    png_bytes: bytes = field(repr=False)
    width_px: int
    height_px: int
    effective_dpi: float
    warnings: list[str]


@functools.cache
def srgb_profile_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA in sRGB; an embedded non-sRGB ICC profile is converted, not just dropped."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha else "RGB"
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, target, outputMode=out_mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError):
            pass  # unreadable profile: treat the pixels as sRGB
    return image.convert(mode)


def print_file(
    *,
    design: Image.Image,
    print_area: PrintAreaSpec,
    bleed_mm: float = 3.0,
    upscaler: Upscaler | None = None,
) -> PrintFile:
    """A PNG of ``(width_mm + 2 * bleed_mm) / 25.4 * dpi`` by the same for height (rounded), the
    design cover-fitted (centre crop, aspect kept), sRGB ICC profile and DPI embedded.

    Upscaling uses Lanczos unless ``upscaler(image, (w, h))`` is given: it receives the source and
    the size it must reach to cover the target (it may return a larger image); the result is then
    cover-fitted with Lanczos. ``effective_dpi`` is measured on the source pixels (an upscaler adds
    pixels, not detail) and a warning is added when it is below ``print_area.min_dpi``."""
    if bleed_mm < 0:
        raise ValueError("bleed_mm must be >= 0")
    width_px, height_px = print_area.pixel_size(bleed_mm)
    width_mm, height_mm = print_area.width_mm + 2 * bleed_mm, print_area.height_mm + 2 * bleed_mm
    source = _to_srgb(design)
    src_w, src_h = source.size
    dpi_w, dpi_h = src_w / (width_mm / MM_PER_INCH), src_h / (height_mm / MM_PER_INCH)
    effective_dpi = min(dpi_w, dpi_h)
    warnings = []
    if effective_dpi < print_area.min_dpi:
        px, mm = (src_w, width_mm) if dpi_w <= dpi_h else (src_h, height_mm)
        warnings.append(
            f"low_effective_dpi: {effective_dpi:.0f} dpi from a {px} px design on a {mm:g} mm print area; "
            f"the minimum is {print_area.min_dpi}"
        )
    scale = max(width_px / src_w, height_px / src_h)
    if upscaler is not None and scale > 1:
        needed = (max(width_px, round(src_w * scale)), max(height_px, round(src_h * scale)))
        source = _to_srgb(upscaler(source, needed))
    fitted = ImageOps.fit(source, (width_px, height_px), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    fitted.save(
        buffer,
        format="PNG",
        dpi=(print_area.dpi, print_area.dpi),
        icc_profile=srgb_profile_bytes(),
        compress_level=3,
    )
    return PrintFile(
        png_bytes=buffer.getvalue(),
        width_px=width_px,
        height_px=height_px,
        effective_dpi=effective_dpi,
        warnings=warnings,
    )
