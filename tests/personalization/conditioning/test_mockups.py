import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from personalization.mockups.compositing import BACKDROP_RGB, composite, logo_rect, print_box_pixels
from personalization.mockups.outlines import GUIDE_RGB, SHAPES, draw_template
from personalization.specs import CATEGORY_SLUGS, LOGO_ANCHORS, LogoSpec, PrintAreaSpec

from .conftest import CATEGORY_PRODUCTS

SIZE = (400, 400)


def gradient_design(size=(300, 200)):
    arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    arr[..., 0] = np.linspace(30, 220, size[0])[None, :]
    arr[..., 2] = np.linspace(220, 30, size[1])[:, None]
    arr[..., 1] = 90
    return Image.fromarray(arr)


def _body_outside_box(template, box):
    alpha = np.asarray(template)[..., 3] > 250
    left, top, right, bottom = print_box_pixels(box, template.size)
    alpha[max(0, top - 4) : bottom + 4, max(0, left - 4) : right + 4] = False
    return alpha


@pytest.mark.parametrize("category", CATEGORY_SLUGS)
def test_template_per_category(category):
    product_type = CATEGORY_PRODUCTS[category][0]
    template, box = draw_template(product_type, category, SIZE)
    _check_template(template, box)


@pytest.mark.parametrize("product_type", sorted({"unknown thing", *SHAPES}))
def test_template_per_product_type(product_type):
    template, box = draw_template(product_type, "home-decor", SIZE)
    _check_template(template, box)


def _check_template(template, box):
    assert template.mode == "RGBA" and template.size == SIZE
    arr = np.asarray(template)
    assert arr[0, 0, 3] == 0 and arr[-1, -1, 3] == 0  # transparent background
    body = arr[..., 3] > 0
    assert 0.05 < body.mean() < 0.8
    left, top, width, height = box
    assert left >= 0 and top >= 0 and left + width <= 1 and top + height <= 1 and width > 0 and height > 0
    px = print_box_pixels(box, SIZE)
    assert arr[(px[1] + px[3]) // 2, (px[0] + px[2]) // 2, 3] == 255  # the box lies on the product
    guide = np.all(arr[..., :3] == GUIDE_RGB, axis=2)
    assert guide.sum() > 20  # print area marked
    rgb = arr[body & ~guide][:, :3].astype(int)
    assert np.abs(rgb[:, 0] - rgb[:, 1]).max() == 0 and np.abs(rgb[:, 1] - rgb[:, 2]).max() == 0  # neutral
    assert 150 < rgb.mean() < 245  # light grey shading


def test_unmarked_template_and_category_default():
    template, box = draw_template("t-shirt", "apparel", SIZE, mark_print_area=False)
    assert not np.all(np.asarray(template)[..., :3] == GUIDE_RGB, axis=2).any()
    assert draw_template("mystery", "pet-products", SIZE)[1] == draw_template("dog bandana", "x", SIZE)[1]


def test_composite_size_base_colour_and_no_guide():
    template, box = draw_template("t-shirt", "apparel", SIZE)
    out = composite(
        design=gradient_design(), template=template, box=box, base_color_hex="#c0392b", finish="matte",
        reflectance=0.0, fit="contain",
    )  # fmt: skip
    assert out.mode == "RGB" and out.size == SIZE
    arr = np.asarray(out).astype(int)
    region = arr[_body_outside_box(template, box)]
    red = np.array([0xC0, 0x39, 0x2B])
    assert np.abs(region.mean(axis=0) - red * 0.85).max() < 30  # the base colour times the shading
    assert region[:, 0].mean() > 2 * region[:, 1].mean()
    assert tuple(arr[0, 0]) == BACKDROP_RGB
    assert not (np.abs(arr - np.array(GUIDE_RGB)).max(axis=2) < 40).any()


def test_ink_multiplies_on_light_and_covers_dark():
    design = Image.new("RGB", (100, 100), "#ff0000")
    for base, expected_green in (("#ffffff", 0), ("#111111", 0)):
        template, box = draw_template("t-shirt", "apparel", SIZE)
        out = np.asarray(
            composite(
                design=design, template=template, box=box, base_color_hex=base, finish="matte", reflectance=0
            )
        ).astype(int)
        left, top, right, bottom = print_box_pixels(box, SIZE)
        centre = out[
            (top + bottom) // 2 - 5 : (top + bottom) // 2 + 5,
            (left + right) // 2 - 5 : (left + right) // 2 + 5,
        ]
        assert centre[..., 0].mean() > 180 and abs(centre[..., 1].mean() - expected_green) < 10
    white = Image.new("RGB", (100, 100), "#ffffff")
    template, box = draw_template("t-shirt", "apparel", SIZE)
    out = np.asarray(
        composite(
            design=white, template=template, box=box, base_color_hex="#2255cc", finish="matte", reflectance=0
        )
    ).astype(int)
    left, top, right, bottom = print_box_pixels(box, SIZE)
    assert (
        out[(top + bottom) // 2, (left + right) // 2, 2] > 150
    )  # white ink multiplied: the blue fabric shows


def _luma_of_body(finish, reflectance, product_type="mug", base="#4a6fa5"):
    template, box = draw_template(product_type, "accessories", SIZE)
    out = composite(
        design=gradient_design(), template=template, box=box, base_color_hex=base, finish=finish,
        reflectance=reflectance,
    )  # fmt: skip
    luma = np.asarray(out.convert("L"), dtype=np.float32)
    body = np.asarray(template)[..., 3] == 255
    return luma, body


def test_finishes_are_visible():
    matte, body = _luma_of_body("matte", 0.9)
    gloss, _ = _luma_of_body("gloss", 0.9)
    satin, _ = _luma_of_body("satin", 0.9)
    metallic, _ = _luma_of_body("metallic", 0.9)
    transparent, _ = _luma_of_body("transparent", 0.9)
    peak = lambda luma: np.percentile(luma[body], 99)  # noqa: E731
    assert peak(gloss) > peak(satin) + 5 > peak(matte) + 5
    assert peak(gloss) - peak(matte) > 30
    columns = body.any(axis=0)
    column_means = lambda luma: np.where(body, luma, 0).sum(axis=0)[columns] / body.sum(axis=0)[columns]  # noqa: E731
    assert np.std(column_means(metallic)) > np.std(column_means(matte)) + 5  # sheen gradient
    backdrop = np.mean(BACKDROP_RGB)
    outside = _body_outside_box(
        draw_template("mug", "accessories", SIZE)[0], draw_template("mug", "x", SIZE)[1]
    )
    assert abs(transparent[outside].mean() - backdrop) < abs(matte[outside].mean() - backdrop)  # see-through
    # matte shows a slight texture; a gloss at zero reflectance shows no highlight
    assert np.std(matte[body][:2000]) > 0
    no_shine, _ = _luma_of_body("gloss", 0.0)
    assert peak(no_shine) < peak(gloss) - 30


def make_logo(colour=(0, 200, 0, 255), size=(200, 100)):
    logo = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(logo).rectangle((0, 0, size[0] - 1, size[1] - 1), fill=colour)
    return logo


@pytest.mark.parametrize("anchor", LOGO_ANCHORS)
def test_logo_rect_constraints(anchor):
    area = PrintAreaSpec(width_mm=200, height_mm=250, dpi=300, safe_margin_mm=2)
    box_px = (100, 50, 380, 400)  # 280 px for 200 mm: 1.4 px/mm across, 350 px for 250 mm: 1.4 down
    logo = LogoSpec(make_logo(), anchor, max_share=0.3, clear_space_mm=10)
    left, top, right, bottom = logo_rect(
        print_box_px=box_px, logo_size=(200, 100), logo=logo, print_area=area
    )
    clear = 10 * 1.4
    assert right - left <= 0.3 * 280 and right - left >= 0.3 * 280 - 1
    assert (bottom - top) == pytest.approx((right - left) / 2, abs=1)  # aspect kept
    assert left >= 100 + clear and top >= 50 + clear and right <= 380 - clear and bottom <= 400 - clear
    vertical, _, horizontal = anchor.partition("-")
    if anchor == "center":
        vertical = horizontal = "center"
    expected_x = {
        "left": 100 + clear,
        "right": 380 - clear - (right - left),
        "center": 240 - (right - left) / 2,
    }
    expected_y = {
        "top": 50 + clear,
        "bottom": 400 - clear - (bottom - top),
        "center": 225 - (bottom - top) / 2,
    }
    assert left == pytest.approx(expected_x[horizontal], abs=1)
    assert top == pytest.approx(expected_y[vertical], abs=1)


def test_logo_rect_shrinks_to_fit_and_refuses_impossible_clear_space():
    area = PrintAreaSpec(width_mm=100, height_mm=20, dpi=300)
    tall = LogoSpec(None, "top-left", max_share=1.0, clear_space_mm=2)
    left, top, right, bottom = logo_rect(
        print_box_px=(0, 0, 500, 100), logo_size=(100, 100), logo=tall, print_area=area
    )
    assert bottom <= 100 - 10 and top >= 10 and right - left == bottom - top
    with pytest.raises(ValueError):
        logo_rect(
            print_box_px=(0, 0, 500, 100),
            logo_size=(10, 10),
            logo=LogoSpec(None, "center", 0.2, 11),
            print_area=area,
        )
    with pytest.raises(ValueError):
        logo_rect(
            print_box_px=(0, 0, 500, 100),
            logo_size=(10, 10),
            logo=LogoSpec(None, "center", 0.2, 3),
            print_area=None,
        )


def test_composite_places_the_logo_in_its_rectangle():
    template, box = draw_template("tote bag", "accessories", SIZE, mark_print_area=False)
    area = PrintAreaSpec(width_mm=300, height_mm=271, dpi=300)
    logo = LogoSpec(make_logo(), "bottom-right", max_share=0.25, clear_space_mm=8)
    design = Image.new("RGB", (50, 50), "#ffffff")
    out = np.asarray(
        composite(design=design, template=template, box=box, base_color_hex="#ffffff", finish="matte",
                  reflectance=0, logo=logo, print_area=area)
    ).astype(int)  # fmt: skip
    rect = logo_rect(
        print_box_px=print_box_pixels(box, SIZE), logo_size=(200, 100), logo=logo, print_area=area
    )
    green = (out[..., 1] > 120) & (out[..., 0] < 60) & (out[..., 2] < 60)
    ys, xs = np.nonzero(green)
    assert green.sum() > 0.8 * (rect[2] - rect[0]) * (rect[3] - rect[1])
    assert xs.min() >= rect[0] - 1 and xs.max() <= rect[2] and ys.min() >= rect[1] - 1 and ys.max() <= rect[3]


def test_composite_is_fast_enough():
    template, box = draw_template("t-shirt", "apparel", (800, 800))
    design = Image.fromarray(np.random.default_rng(0).integers(0, 256, (768, 768, 3), dtype=np.uint8))
    start = time.perf_counter()
    composite(
        design=design, template=template, box=box, base_color_hex="#ffffff", finish="gloss", reflectance=0.7
    )
    assert time.perf_counter() - start < 1.0


def test_composite_validates_arguments():
    template, box = draw_template("mug", "accessories", SIZE)
    with pytest.raises(ValueError):
        composite(
            design=gradient_design(),
            template=template,
            box=box,
            base_color_hex="#fff",
            finish="shiny",
            reflectance=0,
        )
    with pytest.raises(ValueError):
        composite(
            design=gradient_design(),
            template=template,
            box=box,
            base_color_hex="red",
            finish="matte",
            reflectance=0,
        )


def test_a_logo_that_cannot_fit_is_left_out_of_the_mockup(caplog):
    template, box = draw_template("bracelet", "jewelry", SIZE, mark_print_area=False)
    area = PrintAreaSpec(width_mm=150, height_mm=12, dpi=300)
    logo = LogoSpec(make_logo(), "center", max_share=0.3, clear_space_mm=6)  # 12 mm of clear space in 12 mm
    out = np.asarray(
        composite(
            design=Image.new("RGB", (50, 50), "#ffffff"),
            template=template,
            box=box,
            base_color_hex="#ffffff",
            finish="matte",
            reflectance=0,
            logo=logo,
            print_area=area,
        )
    ).astype(int)
    assert not ((out[..., 1] > 120) & (out[..., 0] < 60)).any()
    assert "without the logo" in caplog.text
