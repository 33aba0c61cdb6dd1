"""The preflight's figures against hand-computed values, and its safe-area checks on synthetic artwork."""

import pytest
from PIL import Image

from personalization.artwork import Artwork, ArtworkSpec
from personalization.preflight import preflight, preflight_refusal, upscaler_label
from personalization.printing import print_file
from personalization.specs import PrintAreaSpec

STRIP = PrintAreaSpec(width_mm=200, height_mm=85, dpi=300, min_dpi=150, safe_margin_mm=5)


def check(
    design_size=(1152, 512),
    *,
    area=STRIP,
    fit="cover",
    low_resolution="upscale",
    bleed_mm=3.0,
    artwork=None,
    **fields,
):
    return preflight(
        design_size=design_size,
        spec=ArtworkSpec(print_area=area, fit=fit, **fields),
        low_resolution=low_resolution,
        bleed_mm=bleed_mm,
        upscaler_label="Lanczos",
        artwork=artwork,
    )


# --- figures ---------------------------------------------------------------------------------------


def test_strip_figures_match_the_hand_computation():
    result = check()
    # 1152 px over (200 + 6) mm = 8.1102 in -> 142.04 dpi; 512 px over 91 mm = 3.5827 in -> 142.91 dpi.
    assert result["effective_dpi"] == 142.0
    assert (result["target_dpi"], result["min_dpi"]) == (300, 150)
    assert result["meets_minimum"] is False
    assert result["print_size"] == {
        "width_mm": 200,
        "height_mm": 85,
        "width_in": 7.87,
        "height_in": 3.35,
        "bleed_mm": 3.0,
    }
    assert result["design_px"] == {"width": 1152, "height": 512}
    # (206 / 25.4 * 300, 91 / 25.4 * 300) = (2433.07, 1074.80) rounded.
    assert result["print_px"] == {"width": 2433, "height": 1075}
    # Cover crops the height (more px per inch there): 1 - 142.04 / 142.91 = 0.6 %.
    assert result["crop"] == {"share": 0.006, "axis": "height"}


def test_effective_dpi_is_the_print_files():
    design = Image.new("RGB", (1152, 512), "white")
    printed = print_file(design=design, print_area=STRIP, bleed_mm=3.0)
    assert check()["effective_dpi"] == pytest.approx(printed.effective_dpi, abs=0.1)
    assert check()["print_px"] == {"width": printed.width_px, "height": printed.height_px}


def test_meets_minimum_at_and_just_above_it():
    exactly = check((1500, 750), area=PrintAreaSpec(width_mm=254, height_mm=127, dpi=300), bleed_mm=0)
    assert exactly["meets_minimum"] is True and exactly["effective_dpi"] == 150.0  # 1500 px over 10 in
    # 150 dpi over 206 x 91 mm is 1216.5 x 537.4 px: 1217 x 538 px gives 150.06 dpi across.
    result = check((1217, 538))
    assert result["meets_minimum"] is True
    assert result["effective_dpi"] == 150.1
    assert result["below_minimum"] is None
    assert result["ok"] is True and result["blocked"] is False
    assert result["messages"] == []


def test_just_below_the_minimum_never_reads_as_the_minimum():
    result = check((1216, 538))  # 149.93 dpi across
    assert result["meets_minimum"] is False
    assert result["effective_dpi"] == 149.9
    assert "149 dpi, the minimum is 150" in result["below_minimum"]["message"]


def test_below_minimum_upscaled_is_still_ok():
    result = check(low_resolution="upscale")
    assert result["ok"] is True and result["blocked"] is False
    below = result["below_minimum"]
    assert below["action"] == "upscale" and below["upscaler"] == "Lanczos"
    assert below["message"] == (
        "This design has too few pixels for a 200 × 85 mm print (142 dpi, the minimum is 150): the "
        "shop enlarges it with Lanczos before printing, so it may look softer than on screen."
    )
    assert result["messages"][0] == below["message"]
    assert preflight_refusal(result) == ""


def test_below_minimum_blocked_is_refused():
    result = check(low_resolution="block")
    assert result["ok"] is False and result["blocked"] is True
    assert result["below_minimum"]["action"] == "block"
    sentence = (
        "This design has too few pixels for a 200 × 85 mm print (142 dpi, the minimum is 150), and "
        "the shop does not print below its minimum."
    )
    assert result["below_minimum"]["message"] == sentence
    assert result["messages"] == [sentence]
    assert preflight_refusal(result) == sentence


def test_block_does_not_refuse_a_design_that_meets_the_minimum():
    result = check((2433, 1075), low_resolution="block")
    assert result["blocked"] is False and result["meets_minimum"] is True
    assert preflight_refusal(result) == ""


def test_upscaler_label_names_the_model_not_the_path():
    assert upscaler_label("") == "Lanczos"
    assert upscaler_label("stabilityai/stable-diffusion-x4-upscaler") == "stable-diffusion-x4-upscaler"
    assert upscaler_label("/srv/models/x4-upscaler/") == "x4-upscaler"


# --- fit and crop ----------------------------------------------------------------------------------


def test_cover_of_a_square_on_a_strip_crops_the_height():
    result = check((1024, 1024), bleed_mm=0)
    # 1024 px over 200 mm (7.874 in) = 130.05 dpi across, over 85 mm (3.346 in) = 306.0 dpi down:
    # the fit keeps 130.05 dpi and cuts 1 - 85/200 = 57.5 % of the height.
    assert result["effective_dpi"] == 130.0
    assert result["crop"] == {"share": 0.575, "axis": "height"}
    assert (
        result["messages"][-1]
        == "About 57% of the design (its top and bottom) is cut off to fill the print area."
    )


def test_contain_keeps_the_whole_design_at_the_longer_runs_dpi():
    result = check((1024, 1024), fit="contain", bleed_mm=0)
    # The square fits the 85 mm height: 1024 px over 3.3465 in = 305.99 dpi, nothing cropped.
    assert result["effective_dpi"] == 306.0
    assert result["crop"] == {"share": 0.0, "axis": None}
    assert result["meets_minimum"] is True
    assert result["messages"] == []


def test_a_small_crop_is_not_mentioned():
    result = check(
        (1200, 500), area=PrintAreaSpec(width_mm=240, height_mm=96, dpi=150, min_dpi=100), bleed_mm=0
    )
    # 240/96 = 2.5 vs 1200/500 = 2.4: 4 % of the height goes.
    assert result["crop"] == {"share": 0.04, "axis": "height"}
    assert result["messages"] == []


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"design_size": (0, 10)}, "design_size"),
        ({"low_resolution": "shrug"}, "low_resolution"),
        ({"bleed_mm": -1}, "bleed_mm"),
    ],
)
def test_bad_arguments_are_refused(fields, message):
    kwargs = {"design_size": (100, 100), "low_resolution": "upscale", "bleed_mm": 0.0, **fields}
    with pytest.raises(ValueError, match=message):
        preflight(spec=ArtworkSpec(print_area=STRIP), upscaler_label="Lanczos", **kwargs)


# --- safe area -------------------------------------------------------------------------------------

# A 100 x 50 mm area with a 5 mm margin and 2 mm bleed at 2 px/mm: image 208 x 108 px,
# trim (4, 4, 204, 104), safe (14, 14, 194, 94).
SMALL = PrintAreaSpec(width_mm=100, height_mm=50, dpi=300, min_dpi=150, safe_margin_mm=5)
TRIM, SAFE = (4, 4, 204, 104), (14, 14, 194, 94)
BIG_ENOUGH = (1300, 700)  # over 104 x 54 mm: 317 / 329 dpi


def synthetic(boxes, *, image=None):
    image = image or Image.new("RGBA", (208, 108), (0, 0, 0, 0))
    return Artwork(image=image, px_per_mm=2.0, trim=TRIM, safe=SAFE, boxes=boxes)


def safe_check(boxes, *, transparent=False, image=None):
    return check(
        BIG_ENOUGH,
        area=SMALL,
        bleed_mm=2.0,
        transparent_background=transparent,
        artwork=synthetic(boxes, image=image),
    )


def test_layers_inside_the_safe_area_are_fine():
    result = safe_check({"design": (0, 0, 208, 108), "logo": (160, 70, 194, 94), "text": (40, 70, 150, 90)})
    assert result["safe_area"] == {"ok": True, "problems": []}
    assert result["ok"] is True and result["messages"] == []


def test_text_and_logo_outside_the_safe_area():
    result = safe_check({"logo": (170, 80, 200, 100), "text": (10, 20, 120, 40)})
    layers = [p["layer"] for p in result["safe_area"]["problems"]]
    assert layers == ["text", "logo"]
    assert result["safe_area"]["ok"] is False and result["ok"] is False
    assert result["messages"][0].startswith("Your text reaches outside the safe area")
    assert result["messages"][1] == "The brand logo reaches outside the safe area and may be trimmed."


def test_text_over_a_bottom_logo_is_told_to_move_up():
    result = safe_check({"logo": (160, 70, 194, 94), "text": (40, 70, 170, 90)})
    assert result["safe_area"]["problems"] == [
        {"layer": "text", "message": "Your text overlaps the brand logo: move it to the top or middle."}
    ]


def test_text_over_a_top_logo_is_told_to_move_down():
    result = safe_check({"logo": (14, 14, 50, 40), "text": (20, 16, 150, 36)})
    assert result["safe_area"]["problems"][0]["message"].endswith("move it to the middle or bottom.")


def test_a_cut_out_design_reaching_into_the_margin():
    image = Image.new("RGBA", (208, 108), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (8, 40, 60, 70))  # starts 4 px (2 mm) inside the trim
    result = safe_check({"design": (4, 4, 204, 104)}, transparent=True, image=image)
    assert result["safe_area"]["problems"] == [
        {"layer": "design", "message": "Part of the design reaches the edge and may be trimmed."}
    ]
    # The same pixels on an opaque background are the background: no problem.
    assert safe_check({"design": (4, 4, 204, 104)}, image=image)["safe_area"]["ok"] is True


def test_a_cut_out_design_inside_the_safe_area_and_the_logo_in_the_margin_band():
    image = Image.new("RGBA", (208, 108), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (20, 20, 150, 90))  # the design, inside the safe area
    image.paste((0, 0, 200, 255), (160, 70, 194, 94))  # the logo, inside too
    result = safe_check(
        {"design": (4, 4, 204, 104), "logo": (160, 70, 194, 94)}, transparent=True, image=image
    )
    assert result["safe_area"] == {"ok": True, "problems": []}
