"""What the customer approves is what prints: the mockup's print rect, and the print file's trim box
scaled to it, hold the same artwork (design, logo, text); and the PDF print file carries the PNG's
pixels losslessly, with its TrimBox, BleedBox and sRGB profile.

Both sides run the real code: ``postprocess.mockup_for_spec`` (a drawn mug template, white base,
satin finish at reflectance 0: no highlight, no grain) and ``printing.print_files``."""

import io

import font_lato
import numpy as np
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from personalization import mockups
from personalization.artwork import ArtworkSpec, TextLayer
from personalization.hosts import PrintArea, ProductInfo
from personalization.postprocess import mockup_for_spec
from personalization.printing import print_files, srgb_profile_bytes
from personalization.specs import LogoSpec, PrintAreaSpec

WIDTH_MM, HEIGHT_MM, DPI, BLEED_MM = 200, 85, 150, 3.0
AREA = PrintAreaSpec(width_mm=WIDTH_MM, height_mm=HEIGHT_MM, dpi=DPI, safe_margin_mm=4)
MUG = ProductInfo(
    pk=1,
    slug="mug",
    name="Mug",
    category_slug="accessories",
    category_name="Accessories",
    product_type="mug",
    brand_id=None,
    base_colors=(),
    print_area=PrintArea(WIDTH_MM, HEIGHT_MM, dpi=DPI, safe_margin_mm=4),
)
TEXT_RGB = (0x10, 0x60, 0x20)
LOGO_RGB = (200, 30, 30)
POINTS_PER_PX = 72 / DPI
# Mean absolute difference (0..255, all channels) allowed between the normalised mockup and the
# scaled print file. Measured: ~2.2. What remains is resampling: the mockup's artwork is composed at
# 2 x its 304 x 129 px print rect and reduced, the print file at 5.9 px/mm and reduced by 19x, so
# glyph and shape edges land up to half a pixel apart (visible only along edges, as a thin outline);
# the shading normalisation adds 1/230 quantisation. The text moved to the top gives ~9 (tested).
MAX_MEAN_DIFFERENCE = 4.0


@pytest.fixture(scope="module")
def font() -> bytes:
    with open(font_lato.font_files["Lato"], "rb") as fh:
        return fh.read()


def design() -> Image.Image:
    """A 512 px design with a colour gradient, a disc and a bar: structure everywhere."""
    y, x = np.mgrid[0:512, 0:512]
    pixels = np.dstack((x // 2, y // 2, np.full_like(x, 160))).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 150, 360, 360), fill="#f5d020")
    draw.rectangle((60, 300, 200, 330), fill="#202060")
    return image


def logo() -> Image.Image:
    image = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 119, 59), fill=(*LOGO_RGB, 255))
    draw.ellipse((10, 10, 50, 50), fill=(255, 255, 255, 255))
    return image


def spec_with(font, **text) -> ArtworkSpec:
    layer = TextLayer(**{"text": "Anna & Tom 2025", "color_hex": "#106020", "position": "bottom", **text})
    return ArtworkSpec(
        print_area=AREA,
        logo=LogoSpec(logo(), "top-right", max_share=0.2, clear_space_mm=2),
        text=layer,
        font=font,
    )


def mockup(image, spec) -> Image.Image:
    return mockup_for_spec(image, spec, MUG, base_color_hex="#ffffff", finish="satin", reflectance=0)


def mockup_print_rect() -> tuple[int, int, int, int]:
    template, box = mockups.draw_template("mug", "accessories")
    return mockups.print_rect(mockups.print_box_pixels(box, template.size), WIDTH_MM / HEIGHT_MM)


def normalised_mockup(spec) -> np.ndarray:
    """The mockup's print rect divided by the bare product's (same template, nothing printed): on a
    white base the ink multiplies the shading, so this gives back the artwork's colours."""
    rect = mockup_print_rect()
    printed = np.asarray(mockup(design(), spec).crop(rect), dtype=np.float64)
    bare_spec = ArtworkSpec(print_area=AREA)
    bare = np.asarray(mockup(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), bare_spec).crop(rect), dtype=np.float64)
    assert bare.min() > 200  # a light, smooth shading: the division is well conditioned
    return np.clip(printed / bare * 255, 0, 255)


def print_trim_at(files, size) -> np.ndarray:
    with Image.open(io.BytesIO(files.png_bytes)) as image:
        trim = image.convert("RGB").crop(files.trim_px)
    return np.asarray(trim.resize(size, Image.Resampling.BOX), dtype=np.float64)


def luminance(pixels: np.ndarray) -> np.ndarray:
    return pixels @ np.array([0.299, 0.587, 0.114])


def bbox_of(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


def text_mask(pixels: np.ndarray) -> np.ndarray:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (g > r + 40) & (b < 90) & (g < 150)


def logo_mask(pixels: np.ndarray) -> np.ndarray:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r > 150) & (g < 90) & (b < 90)


@pytest.mark.parametrize("curve", ["straight", "arc"])
def test_the_mockup_shows_the_print_file(font, curve):
    spec = spec_with(font, curve=curve)
    seen = normalised_mockup(spec)
    height, width = seen.shape[:2]
    files = print_files(design(), spec, bleed_mm=BLEED_MM)
    printed = print_trim_at(files, (width, height))

    assert np.abs(seen - printed).mean() < MAX_MEAN_DIFFERENCE
    correlation = np.corrcoef(luminance(seen).ravel(), luminance(printed).ravel())[0, 1]
    assert correlation > 0.97
    # the text and the logo at the same place, relative to the print rect / trim box, within 2 %
    scale = np.array([width, height, width, height], dtype=np.float64)
    for mask in (text_mask, logo_mask):
        assert mask(seen).sum() > 100 and mask(printed).sum() > 100
        assert np.abs(bbox_of(mask(seen)) - bbox_of(mask(printed))) / scale == pytest.approx(0, abs=0.02)

    # the comparison can tell: the same artwork with its text at the top does not pass
    moved = print_trim_at(
        print_files(design(), spec_with(font, curve=curve, position="top"), bleed_mm=BLEED_MM),
        (width, height),
    )
    assert np.abs(seen - moved).mean() > 1.5 * MAX_MEAN_DIFFERENCE


def test_transparent_background_shows_the_base_colour_in_the_mockup_and_stays_clear_in_print(font):
    white_ground = Image.new("RGB", (512, 512), "#ffffff")
    ImageDraw.Draw(white_ground).ellipse((156, 156, 356, 356), fill="#d01010")
    spec = ArtworkSpec(print_area=AREA, transparent_background=True)
    shirt_green = "#2e7d32"
    seen = np.asarray(
        mockup_for_spec(white_ground, spec, MUG, base_color_hex=shirt_green, finish="satin", reflectance=0)
    ).astype(int)
    left, top, right, bottom = mockup_print_rect()
    corner = seen[top + 3, left + 3]
    assert corner[1] > corner[0] + 40 and corner[1] > corner[2] + 40  # the product's green shows through
    centre = seen[(top + bottom) // 2, (left + right) // 2]
    assert centre[0] > 150 and centre[1] < 60  # the red disc is printed
    files = print_files(white_ground, spec, bleed_mm=BLEED_MM)
    with Image.open(io.BytesIO(files.png_bytes)) as image:
        assert image.mode == "RGBA"
        alpha = np.asarray(image.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[files.height_px // 2, files.width_px // 2] == 255


def test_pdf_boxes_profile_and_lossless_pixels(font):
    files = print_files(design(), spec_with(font), bleed_mm=BLEED_MM)
    # (200 + 6) / 25.4 * 150 = 1216.5 -> 1217 px; (85 + 6) / 25.4 * 150 = 537.4 -> 537 px; bleed 18 px
    assert (files.width_px, files.height_px) == (1217, 537)
    assert files.trim_px == (18, 18, 1199, 519)
    page = PdfReader(io.BytesIO(files.pdf_bytes)).pages[0]
    media = [float(v) for v in page.mediabox]
    assert media == pytest.approx([0, 0, 1217 * POINTS_PER_PX, 537 * POINTS_PER_PX])
    assert [float(v) for v in page.bleedbox] == pytest.approx(media)
    trim = [float(v) for v in page.trimbox]
    assert trim == pytest.approx(
        [18 * POINTS_PER_PX, 18 * POINTS_PER_PX, 1199 * POINTS_PER_PX, 519 * POINTS_PER_PX]
    )
    # in physical units: the print area within a pixel, the bleed within a pixel on every side
    mm = 25.4 / 72
    assert (trim[2] - trim[0]) * mm == pytest.approx(WIDTH_MM, abs=25.4 / DPI)
    assert (trim[3] - trim[1]) * mm == pytest.approx(HEIGHT_MM, abs=25.4 / DPI)
    assert trim[0] * mm == pytest.approx(BLEED_MM, abs=25.4 / DPI)
    assert (media[2] - trim[2]) * mm == pytest.approx(BLEED_MM, abs=25.4 / DPI)

    xobject = page["/Resources"]["/XObject"]["/Im0"].get_object()
    colour_space = xobject["/ColorSpace"]
    assert colour_space[0] == "/ICCBased"
    assert colour_space[1].get_object().get_data() == srgb_profile_bytes()
    assert xobject["/Filter"] == "/FlateDecode"  # lossless
    (embedded,) = page.images
    with Image.open(io.BytesIO(files.png_bytes)) as png:
        assert png.mode == "RGB"
        assert np.array_equal(np.asarray(embedded.image.convert("RGB")), np.asarray(png))


def test_pdf_keeps_a_transparent_background_as_a_soft_mask():
    plain = Image.new("RGB", (256, 256), "#f4f4f4")
    ImageDraw.Draw(plain).rectangle((64, 64, 192, 192), fill="#203080")
    files = print_files(plain, ArtworkSpec(print_area=AREA, transparent_background=True), bleed_mm=BLEED_MM)
    page = PdfReader(io.BytesIO(files.pdf_bytes)).pages[0]
    xobject = page["/Resources"]["/XObject"]["/Im0"].get_object()
    assert "/SMask" in xobject and xobject["/ColorSpace"][0] == "/ICCBased"
    (embedded,) = page.images
    with Image.open(io.BytesIO(files.png_bytes)) as png:
        assert png.mode == "RGBA"
        assert np.array_equal(np.asarray(embedded.image), np.asarray(png))
