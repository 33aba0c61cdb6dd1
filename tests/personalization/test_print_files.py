"""Print files end to end: a placed order's frozen design -> `line_design_render_print_file` -> the
stored PNG and PDF, with Lanczos (the default) and with a diffusers upscaler (a tiny random-weight
x4); a frozen composition (logo, text, font) is printed as it was ordered."""

import io

import font_lato
import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from PIL import Image, ImageCms
from pypdf import PdfReader

from personalization.artwork import ArtworkSpec, TextLayer
from personalization.engine.tiny import build_tiny_upscaler
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from personalization.specs import LogoSpec, PrintAreaSpec
from tests.factories import make_product
from tests.foundation_helpers import make_generation, make_order, png_bytes

pytestmark = pytest.mark.django_db

# 20 x 20 mm at 150 dpi plus 3 mm bleed: (20 + 2 * 3) / 25.4 * 150 = 153.5 -> 154 px a side.
PRINT_PX = 154
DESIGN_RGB = (0xAA, 0x33, 0x55)  # the 64 px design the helpers store
LOW_DPI = "low_effective_dpi: 63 dpi from a 64 px design on a 26 mm print area; the minimum is 150"


@pytest.fixture(scope="module")
def tiny_upscaler(tmp_path_factory):
    return build_tiny_upscaler(tmp_path_factory.mktemp("tiny_x4") / "upscaler")


@pytest.fixture
def one_thread():
    """The tiny models are far faster on one thread (no OpenMP overhead, no contention on a busy CI box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def design():
    """A placed order with a personalized line: the chosen 64 px variation frozen onto it."""
    product = make_product(print_width_mm=20, print_height_mm=20, print_dpi=150, min_dpi=150)
    generation = make_generation(product, status=GenerationRequest.Status.SUCCEEDED, progress_step=25)
    image = GenerationImage(request=generation, index=0, seed=generation.seed, width=64, height=64)
    image.image.save("design.png", ContentFile(png_bytes("#AA3355", size=(64, 64))), save=False)
    image.mockup.save("mockup.png", ContentFile(png_bytes("#DDDDDD", size=(64, 64))), save=False)
    image.save()
    order = make_order(product, design=image)
    return LineDesign.objects.get(order_line__order=order)


def render(design) -> np.ndarray:
    line_design_render_print_file(design_id=design.pk)
    design.refresh_from_db()
    assert design.print_file.name.endswith(".png")
    assert design.print_warnings == [LOW_DPI]  # measured on the design's pixels, upscaler or not
    with design.print_file.open("rb") as fh, Image.open(fh) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.size == (PRINT_PX, PRINT_PX)
        # PNG stores whole pixels per metre: 150 dpi is 5906 px/m, read back as 150.012 dpi.
        assert image.info["dpi"] == pytest.approx((150, 150), abs=0.02)
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
        pixels = np.asarray(image)
    assert design.print_pdf.name.endswith("/print.pdf")
    with design.print_pdf.open("rb") as fh:
        page = PdfReader(io.BytesIO(fh.read())).pages[0]
    # 154 px at 150 dpi = 73.92 pt; 3 mm of bleed = round(17.7) = 18 px = 8.64 pt on every side
    assert [float(v) for v in page.mediabox] == pytest.approx([0, 0, 73.92, 73.92])
    assert [float(v) for v in page.trimbox] == pytest.approx([8.64, 8.64, 65.28, 65.28])
    (embedded,) = page.images
    assert np.array_equal(np.asarray(embedded.image), pixels)
    return pixels


def test_print_file_with_lanczos(settings, design):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PRINT_UPSCALER": ""}
    pixels = render(design)
    assert (pixels == DESIGN_RGB).all()  # a flat colour stays flat under Lanczos


def test_print_file_with_a_diffusers_upscaler(settings, design, tiny_upscaler, one_thread):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "PRINT_UPSCALER": str(tiny_upscaler),
        "PRINT_UPSCALER_STEPS": 2,
        "DEVICE": "cpu",
        "DTYPE": "float32",
    }
    pixels = render(design)
    # Random weights: the x4 model paints noise over the flat colour, so it clearly ran.
    assert np.abs(pixels.astype(float) - DESIGN_RGB).mean() > 10


def test_a_frozen_composition_is_printed_with_its_logo_and_text(settings, design):
    """The line's frozen composition: a 60 x 30 mm area, a logo top-left, a text at the bottom in
    the frozen font; the print file holds them where ``compose`` puts them at 150 dpi."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PRINT_UPSCALER": ""}
    area = PrintAreaSpec(width_mm=60, height_mm=30, dpi=150, safe_margin_mm=2, min_dpi=50)
    logo = Image.new("RGBA", (40, 20), (0, 200, 0, 255))
    text = TextLayer("Ada", font="heading", color_hex="#ffffff", size="large", position="bottom")
    spec = ArtworkSpec(print_area=area, logo=LogoSpec(logo, "top-left", 0.25, 3), text=text, font=b"x")
    design.composition = spec.as_dict()
    buffer = io.BytesIO()
    logo.save(buffer, format="PNG")
    design.logo.save("logo.png", ContentFile(buffer.getvalue()), save=False)
    with open(font_lato.font_files["Lato"], "rb") as fh:
        design.text_font.save("font.ttf", ContentFile(fh.read()), save=False)
    design.save()

    line_design_render_print_file(design_id=design.pk)
    design.refresh_from_db()
    with design.print_file.open("rb") as fh, Image.open(fh) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    # (60 + 6) / 25.4 * 150 = 389.8 -> 390; (30 + 6) / 25.4 * 150 = 212.6 -> 213; bleed 18 px
    assert pixels.shape == (213, 390, 3)
    green = (pixels[..., 1] > 150) & (pixels[..., 0] < 80)
    ys, xs = np.nonzero(green)
    # 3 mm clear space inside an 18 px bleed at 5.9 px/mm: the logo starts at 18 + 18 = 36 px
    assert (xs.min(), ys.min()) == (36, 36) and xs.max() - xs.min() + 1 == pytest.approx(0.25 * 354, abs=1)
    white = (pixels > 200).all(axis=2)
    ys, xs = np.nonzero(white)
    assert white.sum() > 200  # the text, in white, on the #AA3355 design
    assert ys.max() < 213 - 18 - 12 and ys.min() > 213 / 2  # in the lower half, above the safe margin
    assert abs((xs.min() + xs.max()) / 2 - 195) <= 2  # centred
