"""Print-ready files: the artwork (``artwork.compose``: design, logo, text) at the print area's
physical size plus bleed, at its DPI, in sRGB: a PNG and a PDF with its TrimBox and BleedBox.

The design is upscaled first (Lanczos, or an upscaler) to the size it covers on the print canvas,
then composed at ``dpi / 25.4`` pixels per millimetre, so the logo and text are drawn at print
resolution, never enlarged. The PDF embeds the PNG's pixels losslessly (``img2pdf``: Flate, the
PNG's own data) with the sRGB profile as an ICCBased colour space; a transparent background stays
transparent in both (the PDF image carries an /SMask).
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import img2pdf
from PIL import Image, ImageCms

from personalization.artwork import ArtworkSpec, Rect, compose, cutout
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


@dataclass(frozen=True, slots=True)
class PrintFiles:
    """The print file as PNG and PDF. ``trim_px`` is the trim box (the print area) inside the
    PNG's pixels; the rest is bleed."""

    png_bytes: bytes = field(repr=False)
    pdf_bytes: bytes = field(repr=False)
    width_px: int
    height_px: int
    effective_dpi: float
    warnings: list[str]
    trim_px: Rect


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
    """The design alone (cover-fitted, no logo, no text) as a PNG print file: ``print_files``
    with a bare ``ArtworkSpec`` of ``print_area``, without its PDF."""
    files = print_files(design, ArtworkSpec(print_area=print_area), bleed_mm=bleed_mm, upscaler=upscaler)
    return PrintFile(
        png_bytes=files.png_bytes,
        width_px=files.width_px,
        height_px=files.height_px,
        effective_dpi=files.effective_dpi,
        warnings=files.warnings,
    )


def print_files(
    design: Image.Image,
    spec: ArtworkSpec,
    *,
    bleed_mm: float,
    upscaler: Upscaler | None = None,
) -> PrintFiles:
    """The artwork at the print area's DPI plus ``bleed_mm`` on every side: a PNG of
    ``round((width_mm + 2 * bleed_mm) / 25.4 * dpi)`` by the same for the height, sRGB ICC profile
    and DPI embedded, and a one-page PDF of it (MediaBox = BleedBox = the whole image, TrimBox =
    the print area, in points at the image's DPI).

    The design is fitted to the whole canvas (``spec.fit``); it is first enlarged to the size it
    takes there, with Lanczos unless ``upscaler(image, (w, h))`` is given (it receives the sRGB
    design and the size to reach, and may return a larger image). A transparent background is cut
    out on the design's own pixels before enlarging (the mask is enlarged with Lanczos), as the
    mockup cuts it. ``effective_dpi`` is measured on the design's pixels (an upscaler adds pixels,
    not detail); a warning is added when it is below ``print_area.min_dpi``.

    The PNG is RGB, or RGBA when the artwork has transparent parts (a cut-out background, a
    contain fit's padding); the PDF keeps that transparency as an /SMask of the image."""
    if bleed_mm < 0:
        raise ValueError("bleed_mm must be >= 0")
    area = spec.print_area
    width_px, height_px = area.pixel_size(bleed_mm)
    width_mm, height_mm = area.width_mm + 2 * bleed_mm, area.height_mm + 2 * bleed_mm
    source = _to_srgb(design)
    if spec.transparent_background:
        source = cutout(source)
        spec = dataclasses.replace(spec, transparent_background=False)
    src_w, src_h = source.size
    dpi_w, dpi_h = src_w / (width_mm / MM_PER_INCH), src_h / (height_mm / MM_PER_INCH)
    # cover: the design spans the canvas's larger scale; contain: the smaller one
    effective_dpi = min(dpi_w, dpi_h) if spec.fit == "cover" else max(dpi_w, dpi_h)
    warnings = []
    if effective_dpi < area.min_dpi:
        limiting_w = (dpi_w <= dpi_h) == (spec.fit == "cover")
        px, mm = (src_w, width_mm) if limiting_w else (src_h, height_mm)
        warnings.append(
            f"low_effective_dpi: {effective_dpi:.0f} dpi from a {px} px design on a {mm:g} mm print area; "
            f"the minimum is {area.min_dpi}"
        )
    source = _enlarged(source, (width_px, height_px), spec.fit, upscaler)
    art = compose(source, spec, px_per_mm=area.dpi / MM_PER_INCH, bleed_mm=bleed_mm)
    image = art.image
    if image.getextrema()[3][0] == 255:
        image = image.convert("RGB")  # fully opaque: no alpha channel to carry
    buffer = io.BytesIO()
    image.save(
        buffer, format="PNG", dpi=(area.dpi, area.dpi), icc_profile=srgb_profile_bytes(), compress_level=3
    )
    png = buffer.getvalue()
    return PrintFiles(
        png_bytes=png,
        pdf_bytes=_pdf(png, dpi=area.dpi, size=image.size, trim=art.trim),
        width_px=image.width,
        height_px=image.height,
        effective_dpi=effective_dpi,
        warnings=warnings,
        trim_px=art.trim,
    )


def _enlarged(
    source: Image.Image, canvas: tuple[int, int], fit: str, upscaler: Upscaler | None
) -> Image.Image:
    """The design at the size it takes on the canvas when that is larger than it (compose then
    only crops or pads it); an alpha channel is enlarged alongside with Lanczos."""
    src_w, src_h = source.size
    ratios = (canvas[0] / src_w, canvas[1] / src_h)
    scale = max(ratios) if fit == "cover" else min(ratios)
    if scale <= 1:
        return source
    needed = (max(1, round(src_w * scale)), max(1, round(src_h * scale)))
    if fit == "cover":
        needed = (max(canvas[0], needed[0]), max(canvas[1], needed[1]))
    alpha = source.getchannel("A") if source.mode == "RGBA" else None
    rgb = source.convert("RGB") if alpha is not None else source
    if upscaler is not None:
        rgb = _to_srgb(upscaler(rgb, needed)).convert("RGB")
    else:
        rgb = rgb.resize(needed, Image.Resampling.LANCZOS)
    if alpha is None:
        return rgb
    rgb.putalpha(alpha.resize(rgb.size, Image.Resampling.LANCZOS))
    return rgb


def _pdf(png: bytes, *, dpi: int, size: tuple[int, int], trim: Rect) -> bytes:
    """One page holding the PNG at ``dpi``: MediaBox = BleedBox = the image, TrimBox = ``trim``
    (symmetric: the bleed is the same on every side). img2pdf embeds the PNG's data as it is
    (lossless), its ICC profile as an ICCBased colour space and its alpha as an /SMask."""
    points = 72.0 / dpi
    border_x, border_y = trim[0] * points, trim[1] * points
    if (size[0] - trim[2], size[1] - trim[3]) != trim[:2]:
        raise ValueError("the trim box must be centred in the image")
    return img2pdf.convert(
        png,
        layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi)),
        bleedborder=(0.0, 0.0),
        trimborder=(border_y, border_x),
        nodate=True,
    )
