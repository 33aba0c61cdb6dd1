import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from personalization.printing import print_file
from personalization.specs import PrintAreaSpec


def design(size=(768, 768)):
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr)


def test_pixel_size_dpi_and_icc_profile():
    area = PrintAreaSpec(width_mm=250, height_mm=300, dpi=300)
    result = print_file(design=design(), print_area=area, bleed_mm=3.0)
    # (250 + 2 * 3) / 25.4 * 300 = 3023.6 -> 3024; (300 + 6) / 25.4 * 300 = 3614.2 -> 3614
    assert (result.width_px, result.height_px) == (3024, 3614)
    with Image.open(io.BytesIO(result.png_bytes)) as image:
        assert image.format == "PNG" and image.size == (3024, 3614) and image.mode == "RGB"
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
    assert result.effective_dpi == pytest.approx(768 / (306 / 25.4))
    assert result.warnings == [
        "low_effective_dpi: 64 dpi from a 768 px design on a 306 mm print area; the minimum is 150"
    ]


def test_message_of_the_brief():
    area = PrintAreaSpec(width_mm=197, height_mm=197, dpi=300)
    result = print_file(design=design(), print_area=area)
    assert result.warnings == [
        "low_effective_dpi: 96 dpi from a 768 px design on a 203 mm print area; the minimum is 150"
    ]


def test_no_warning_when_the_design_is_sharp_enough():
    area = PrintAreaSpec(width_mm=80, height_mm=80, dpi=300, min_dpi=150)  # 86 mm at 768 px: 227 dpi
    result = print_file(design=design(), print_area=area)
    assert result.warnings == [] and result.effective_dpi > 150


def test_cover_fit_keeps_the_aspect_and_centre():
    source = Image.new("RGB", (400, 200), "#0000ff")
    source.paste(Image.new("RGB", (200, 200), "#ff0000"), (100, 0))  # red centre square
    area = PrintAreaSpec(width_mm=50, height_mm=50, dpi=100, min_dpi=10)
    result = print_file(design=source, print_area=area, bleed_mm=0)
    with Image.open(io.BytesIO(result.png_bytes)) as image:
        arr = np.asarray(image.convert("RGB"))
    assert image.size == (197, 197)
    assert (arr[..., 0] > 200).mean() > 0.95  # the square centre fills the square area, not stretched


def test_custom_upscaler_is_used():
    calls = []

    def upscaler(image, size):
        calls.append((image.size, size))
        return image.resize(size, Image.Resampling.NEAREST)

    area = PrintAreaSpec(width_mm=100, height_mm=50, dpi=200)
    result = print_file(design=design((256, 256)), print_area=area, upscaler=upscaler)
    assert calls and calls[0][0] == (256, 256)
    assert calls[0][1][0] >= result.width_px and calls[0][1][1] >= result.height_px
    assert result.effective_dpi == pytest.approx(256 / (106 / 25.4))


def test_transparency_is_kept_and_other_profiles_converted():
    rgba = Image.new("RGBA", (300, 300), (255, 0, 0, 0))
    area = PrintAreaSpec(width_mm=20, height_mm=20, dpi=300)
    with Image.open(io.BytesIO(print_file(design=rgba, print_area=area).png_bytes)) as image:
        assert image.mode == "RGBA" and image.getextrema()[3] == (0, 0)
    lab_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    weird = Image.new("RGB", (300, 300), "#808080")
    weird.info["icc_profile"] = lab_profile  # an unusable profile is ignored, not fatal
    assert print_file(design=weird, print_area=area).width_px > 0


def test_negative_bleed_is_refused():
    with pytest.raises(ValueError):
        print_file(design=design(), print_area=PrintAreaSpec(10, 10, 300), bleed_mm=-1)
