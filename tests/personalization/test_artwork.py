"""The artwork composed once from its layers (``personalization.artwork``): geometry, fit, logo,
text in the safe zone, the cut-out of a plain background, and the artwork on a mockup."""

import font_lato
import numpy as np
import pytest
from PIL import Image, ImageDraw

from personalization.artwork import (
    TEXT_CURVES,
    TEXT_POSITIONS,
    ArtworkSpec,
    TextLayer,
    compose,
    cutout,
    logo_rect,
)
from personalization.mockups import composite, draw_template, print_box_pixels, print_rect
from personalization.specs import LOGO_ANCHORS, LogoSpec, PrintAreaSpec

AREA = PrintAreaSpec(width_mm=200, height_mm=85, dpi=300, safe_margin_mm=5)
PX_PER_MM = 4.0
INK = "#1144aa"


@pytest.fixture(scope="module")
def font() -> bytes:
    with open(font_lato.font_files["Lato"], "rb") as fh:
        return fh.read()


def transparent(size=(64, 64)):
    return Image.new("RGBA", size, (0, 0, 0, 0))


def disc_on_white(size=(256, 256), colour="#d01010"):
    """A red disc on a plain white background, with a white hole in its middle (enclosed: not
    background)."""
    image = Image.new("RGB", size, "#ffffff")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.2, h * 0.2, w * 0.8, h * 0.8), fill=colour)
    draw.ellipse((w * 0.45, h * 0.45, w * 0.55, h * 0.55), fill="#ffffff")
    return image


def green_logo(size=(200, 100)):
    return Image.new("RGBA", size, (0, 200, 0, 255))


def inside(box, outer) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def text_spec(font, **text):
    return ArtworkSpec(print_area=AREA, text=TextLayer(**{"color_hex": INK, **text}), font=font)


# ---- geometry --------------------------------------------------------------------------------------


def test_canvas_trim_and_safe_zone_with_bleed():
    art = compose(transparent(), ArtworkSpec(print_area=AREA), px_per_mm=PX_PER_MM, bleed_mm=3)
    # (200 + 2 * 3) * 4 = 824, (85 + 6) * 4 = 364; bleed 12 px; safe margin 20 px inside the trim
    assert art.image.mode == "RGBA" and art.image.size == (824, 364)
    assert art.trim == (12, 12, 812, 352)
    assert art.safe == (32, 32, 792, 332)
    assert art.trimmed().size == (800, 340)
    assert art.px_per_mm == PX_PER_MM


def test_no_bleed_and_fractional_scale():
    art = compose(transparent(), ArtworkSpec(print_area=AREA), px_per_mm=300 / 25.4)
    assert art.image.size == AREA.pixel_size(0) == (2362, 1004)
    assert art.trim == (0, 0, 2362, 1004)


def test_bad_scale_or_bleed_is_refused():
    with pytest.raises(ValueError):
        compose(transparent(), ArtworkSpec(print_area=AREA), px_per_mm=0)
    with pytest.raises(ValueError):
        compose(transparent(), ArtworkSpec(print_area=AREA), px_per_mm=1, bleed_mm=-1)


def test_cover_fills_the_canvas_bleed_included():
    design = Image.new("RGB", (300, 300), "#0000ff")
    design.paste(Image.new("RGB", (300, 140), "#ff0000"), (0, 80))  # a red band across the middle
    art = compose(design, ArtworkSpec(print_area=AREA), px_per_mm=2, bleed_mm=3)
    pixels = np.asarray(art.image)
    assert art.boxes["design"] == (0, 0, *art.image.size)
    assert (pixels[..., 3] == 255).all()
    # the centre crop of a square into 206 x 91 mm keeps the middle 132 rows: inside the red band
    assert (pixels[..., 0] > 200).all() and (pixels[..., 2] < 50).all()


def test_contain_letterboxes_on_transparency():
    design = Image.new("RGB", (300, 300), "#ff0000")
    art = compose(design, ArtworkSpec(print_area=AREA, fit="contain"), px_per_mm=2, bleed_mm=3)
    width, height = art.image.size  # 412 x 182
    left, top, right, bottom = art.boxes["design"]
    assert (top, bottom) == (0, height) and right - left == height  # a square, centred
    assert left == (width - height) // 2
    alpha = np.asarray(art.image.getchannel("A"))
    assert (alpha[:, : left - 1] == 0).all() and (alpha[:, right + 1 :] == 0).all()
    assert (alpha[:, left + 1 : right - 1] == 255).all()


def test_same_inputs_same_pixels(font):
    spec = ArtworkSpec(
        print_area=AREA,
        transparent_background=True,
        logo=LogoSpec(green_logo(), "top-left", 0.2, 3),
        text=TextLayer("Anna & Tom", color_hex=INK, curve="arc"),
        font=font,
    )
    first = compose(disc_on_white(), spec, px_per_mm=PX_PER_MM, bleed_mm=3)
    second = compose(disc_on_white(), spec, px_per_mm=PX_PER_MM, bleed_mm=3)
    assert first.image.tobytes() == second.image.tobytes() and first.boxes == second.boxes


# ---- the logo --------------------------------------------------------------------------------------


@pytest.mark.parametrize("anchor", LOGO_ANCHORS)
def test_logo_inside_the_trim_at_its_anchor(anchor):
    spec = ArtworkSpec(print_area=AREA, logo=LogoSpec(green_logo(), anchor, max_share=0.2, clear_space_mm=8))
    art = compose(transparent(), spec, px_per_mm=PX_PER_MM, bleed_mm=3)
    rect = art.boxes["logo"]
    assert rect == logo_rect(print_box_px=art.trim, logo_size=(200, 100), logo=spec.logo, print_area=AREA)
    clear = 8 * PX_PER_MM  # the clear space (8 mm) beats the safe margin (5 mm)
    trim = art.trim
    assert inside(rect, (trim[0] + clear, trim[1] + clear, trim[2] - clear, trim[3] - clear))
    assert rect[2] - rect[0] == pytest.approx(0.2 * 800, abs=1)
    vertical, _, horizontal = anchor.partition("-")
    if anchor == "center":
        vertical = horizontal = "center"
    centre_x, centre_y = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
    assert {"left": rect[0] == trim[0] + clear, "right": rect[2] == trim[2] - clear}.get(
        horizontal, abs(centre_x - 412) <= 1
    )
    assert {"top": rect[1] == trim[1] + clear, "bottom": rect[3] == trim[3] - clear}.get(
        vertical, abs(centre_y - 182) <= 1
    )
    pixels = np.asarray(art.image)
    drawn = pixels[..., 3] > 0
    ys, xs = np.nonzero(drawn)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == rect
    assert (pixels[drawn][:, 1] == 200).all()


def test_a_logo_that_cannot_fit_is_left_out(caplog):
    spec = ArtworkSpec(print_area=AREA, logo=LogoSpec(green_logo(), "center", 0.2, clear_space_mm=43))
    art = compose(transparent(), spec, px_per_mm=PX_PER_MM)
    assert "logo" not in art.boxes and art.image.getextrema()[3] == (0, 0)
    assert "without the logo" in caplog.text


# ---- the text layer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,text", [("line", "Happy Birthday Anna"), ("monogram", "AJM"), ("monogram", "JM")]
)
@pytest.mark.parametrize("position", TEXT_POSITIONS)
@pytest.mark.parametrize("curve", TEXT_CURVES)
def test_text_inside_the_safe_zone(font, kind, text, position, curve):
    art = compose(
        transparent(),
        text_spec(font, text=text, kind=kind, position=position, curve=curve),
        px_per_mm=PX_PER_MM,
    )
    box = art.boxes["text"]
    assert inside(box, art.safe)
    # the box is exactly the drawn pixels (the design is transparent, no logo)
    assert art.image.getchannel("A").getbbox() == box
    pixels = np.asarray(art.image)
    solid = pixels[..., 3] == 255
    assert solid.sum() > 200 and (pixels[solid][:, :3] == (0x11, 0x44, 0xAA)).all()
    assert ((pixels[..., 3] > 0) & ~solid).sum() > 0  # antialiased edges
    safe = art.safe
    if position == "top":
        assert box[1] == safe[1]
    elif position == "bottom":
        assert box[3] == safe[3]
    else:
        assert abs((box[1] + box[3]) / 2 - (safe[1] + safe[3]) / 2) <= 1
    assert abs((box[0] + box[2]) / 2 - (safe[0] + safe[2]) / 2) <= 1  # centred across


def _ink_columns(art):
    """(first ink row, last ink row) of each column that has ink, left to right."""
    alpha = np.asarray(art.image.getchannel("A")) > 128
    columns = np.nonzero(alpha.any(axis=0))[0]
    tops = np.array([np.nonzero(alpha[:, x])[0][0] for x in columns])
    bottoms = np.array([np.nonzero(alpha[:, x])[0][-1] for x in columns])
    return tops, bottoms


def test_arc_is_a_smile_at_the_bottom_and_a_frown_elsewhere(font):
    text = "Summer Camp 2025"
    smile = compose(transparent(), text_spec(font, text=text, position="bottom", curve="arc"), px_per_mm=3)
    frown = compose(transparent(), text_spec(font, text=text, position="top", curve="arc"), px_per_mm=3)
    straight = compose(transparent(), text_spec(font, text=text, position="top"), px_per_mm=3)
    tops, bottoms = _ink_columns(smile)
    tenth = len(tops) // 10
    assert bottoms[:tenth].mean() < bottoms[4 * tenth : 6 * tenth].mean() - 20  # ends higher than the middle
    tops, _ = _ink_columns(frown)
    assert tops[:tenth].mean() > tops[4 * tenth : 6 * tenth].mean() + 20  # ends lower than the middle
    height = lambda art: art.boxes["text"][3] - art.boxes["text"][1]  # noqa: E731
    assert height(frown) > 1.5 * height(straight)


def test_sizes_scale_the_cap_height(font):
    heights = {}
    for size in ("small", "medium", "large"):
        art = compose(transparent(), text_spec(font, text="HELLO", size=size), px_per_mm=PX_PER_MM)
        box = art.boxes["text"]
        heights[size] = box[3] - box[1]
    safe_h = 340 - 2 * 20  # 85 mm less 2 x 5 mm at 4 px/mm
    assert heights["small"] == pytest.approx(0.12 * safe_h, abs=2)  # capitals only: the box is the caps
    assert heights["medium"] == pytest.approx(0.2 * safe_h, abs=2)
    assert heights["large"] == pytest.approx(0.3 * safe_h, abs=2)


def test_long_text_shrinks_instead_of_overflowing(font):
    short = compose(transparent(), text_spec(font, text="HI", size="large"), px_per_mm=PX_PER_MM)
    long = compose(
        transparent(),
        text_spec(font, text="HAPPY BIRTHDAY TO THE BEST GRANDMOTHER IN THE WORLD", size="large"),
        px_per_mm=PX_PER_MM,
    )
    box, safe = long.boxes["text"], long.safe
    # as wide as the zone allows, within one font size step (~4 % at this 24 px font)
    assert inside(box, safe) and box[2] - box[0] >= 0.95 * (safe[2] - safe[0])
    assert box[3] - box[1] < 0.6 * (short.boxes["text"][3] - short.boxes["text"][1])
    arc = compose(
        transparent(),
        text_spec(font, text="HAPPY BIRTHDAY TO THE BEST GRANDMOTHER IN THE WORLD", curve="arc"),
        px_per_mm=PX_PER_MM,
    )
    assert inside(arc.boxes["text"], arc.safe)


def test_monogram_of_three_has_a_larger_middle_letter(font):
    art = compose(
        transparent(), text_spec(font, text="amj", kind="monogram", size="small"), px_per_mm=PX_PER_MM
    )
    alpha = np.asarray(art.image.getchannel("A")) > 128
    columns = alpha.any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], columns.astype(int), [0]))))
    letters = list(zip(edges[::2], edges[1::2], strict=True))
    assert len(letters) == 3
    heights = [np.ptp(np.nonzero(alpha[:, a:b].any(axis=1))[0]) for a, b in letters]
    assert heights[1] > 1.25 * heights[0] and heights[1] > 1.25 * heights[2]
    assert heights[0] == pytest.approx(heights[2], abs=2)
    middles = [np.nonzero(alpha[:, a:b].any(axis=1))[0].mean() for a, b in letters]
    assert max(middles) - min(middles) <= 3  # the side letters centred on the middle one
    # a monogram's capitals are 1.6 x a line's at the same size
    line = compose(transparent(), text_spec(font, text="AMJ", size="small"), px_per_mm=PX_PER_MM)
    assert heights[1] == pytest.approx(1.6 * (line.boxes["text"][3] - line.boxes["text"][1]), rel=0.06)


# ---- the cut-out -----------------------------------------------------------------------------------


def test_cutout_of_a_plain_background():
    design = disc_on_white()
    cut = cutout(design)
    assert cut.mode == "RGBA" and cut.size == design.size
    alpha = np.asarray(cut.getchannel("A"))
    ring = np.concatenate((alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]))
    assert (ring == 0).all()
    assert alpha[128, 70] == 255 and alpha[70, 128] == 255  # the disc is kept
    assert alpha[128, 128] == 255  # the white hole is enclosed by the disc: not background
    assert (alpha[:40, :40] == 0).all()
    # a soft edge: some partly transparent pixels around the disc, few of them
    soft = ((alpha > 0) & (alpha < 255)).sum()
    assert 0 < soft < 0.05 * alpha.size
    assert (np.asarray(cut)[..., :3] == np.asarray(design)).all()  # colours untouched


def test_cutout_tolerates_a_noisy_plain_background():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 4, (200, 200, 3))
    pixels = np.clip(np.full((200, 200, 3), 240.0) + noise, 0, 255).astype(np.uint8)
    pixels[60:140, 60:140] = (20, 90, 160)
    alpha = np.asarray(cutout(Image.fromarray(pixels), feather_px=0).getchannel("A"))
    assert (alpha[60:140, 60:140] == 255).all()
    assert (alpha == 0).sum() == 200 * 200 - 80 * 80


def test_cutout_leaves_a_busy_design_whole():
    busy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8))
    assert np.asarray(cutout(busy).getchannel("A")).min() == 255
    stripes = Image.new("RGB", (128, 128), "#ffffff")  # half the border white, half black: not plain
    ImageDraw.Draw(stripes).rectangle((64, 0, 127, 127), fill="#000000")
    assert np.asarray(cutout(stripes).getchannel("A")).min() == 255


def test_compose_cuts_out_when_asked():
    spec = ArtworkSpec(print_area=PrintAreaSpec(100, 100, 300), transparent_background=True)
    art = compose(disc_on_white(), spec, px_per_mm=2)
    alpha = np.asarray(art.image.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[100, 100] == 255 and alpha[100, 50] == 255
    opaque = compose(disc_on_white(), ArtworkSpec(print_area=spec.print_area), px_per_mm=2)
    assert np.asarray(opaque.image.getchannel("A")).min() == 255


# ---- on the mockup ---------------------------------------------------------------------------------


def test_print_rect_keeps_the_aspect_centred():
    assert print_rect((10, 20, 110, 220), 1.0) == (10, 70, 110, 170)
    assert print_rect((10, 20, 110, 220), 0.25) == (35, 20, 85, 220)
    with pytest.raises(ValueError):
        print_rect((0, 0, 10, 10), 0)


def test_transparent_artwork_on_a_mockup_shows_the_base_colour():
    template, box = draw_template("t-shirt", "apparel", (400, 400), mark_print_area=False)
    area = PrintAreaSpec(width_mm=100, height_mm=100, dpi=300)
    rect = print_rect(print_box_pixels(box, template.size), 1.0)
    px_per_mm = (rect[2] - rect[0]) / 100
    base = "#2e7d32"
    mockups = {}
    for cut in (True, False):
        spec = ArtworkSpec(print_area=area, transparent_background=cut)
        art = compose(disc_on_white(), spec, px_per_mm=px_per_mm).trimmed()
        mockups[cut] = np.asarray(
            composite(
                artwork=art, template=template, box=box, base_color_hex=base, finish="matte", reflectance=0
            )
        ).astype(int)
    corner = (rect[1] + 4, rect[0] + 4)  # in the design's white background
    centre_of_disc = ((rect[1] + rect[3]) // 2, rect[0] + (rect[2] - rect[0]) * 3 // 10)
    green = mockups[True][corner]
    assert green[1] > green[0] + 40 and green[1] > green[2] + 40  # the garment shows through
    white = mockups[False][corner]
    assert white.min() > 180  # without the cut-out the white background is printed
    red = mockups[True][centre_of_disc]
    assert red[0] > 150 and red[1] < 60  # the design itself is printed


def test_a_logo_thinner_than_a_pixel_still_stays_inside_the_trim():
    from personalization.artwork import logo_rect

    area = PrintAreaSpec(width_mm=100, height_mm=50, dpi=150, safe_margin_mm=2)
    rect = logo_rect(
        print_box_px=(0, 0, 200, 100),
        logo_size=(2, 4000),
        logo=LogoSpec(anchor="top-left", max_share=0.2),
        print_area=area,
    )
    left, top, right, bottom = rect
    assert right - left == 1
    assert 0 <= top < bottom <= 100 and 0 <= left < right <= 200
