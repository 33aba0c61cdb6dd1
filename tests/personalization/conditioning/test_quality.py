import time

import numpy as np
import pytest
from coloraide import Color
from PIL import Image

from personalization.quality import (
    brand_consistency,
    color_score,
    delta_e,
    dominant_colors,
    harmonize,
    image_checks,
)
from personalization.specs import PaletteColorSpec

PALETTE = (
    PaletteColorSpec("navy blue", "#1f2a44", "primary"),
    PaletteColorSpec("coral", "#ff6f61", "accent"),
    PaletteColorSpec("sand", "#e8d8b0", "background"),
)


def solid(hex_value, size=(64, 64)):
    return Image.new("RGB", size, hex_value)


def noise(size=768, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def test_dominant_colors_of_a_two_colour_image():
    image = Image.new("RGB", (200, 100), "#ff6f61")
    image.paste(solid("#1f2a44", (50, 100)), (0, 0))
    colours = dominant_colors(image, k=5)
    assert [hex_value for hex_value, _ in colours] == ["#ff6f61", "#1f2a44"]
    assert colours[0][1] == pytest.approx(0.75, abs=0.01)
    assert sum(share for _, share in colours) == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_dominant_color_shares_sum_to_one(mode):
    colours = dominant_colors(noise(300).convert(mode), k=5)
    assert 1 <= len(colours) <= 5
    assert sum(share for _, share in colours) == pytest.approx(1.0)
    assert [s for _, s in colours] == sorted((s for _, s in colours), reverse=True)


def test_on_palette_scores_about_100_and_off_palette_low():
    on = Image.new("RGB", (120, 60), "#1f2a44")
    on.paste(solid("#ff6f61", (60, 60)), (60, 0))
    assert brand_consistency(on, PALETTE) > 99
    assert brand_consistency(solid("#00ff00"), PALETTE) < 15  # dE2000 30.6 from sand, its nearest
    assert brand_consistency(solid("#7a00ff"), PALETTE) < 15
    assert brand_consistency(solid("#00ff00"), ()) is None


def test_score_strictly_decreases_as_a_colour_moves_away_in_lab():
    lightness, a, b = Color("#ff6f61").convert("lab-d65").coords()
    scores, distances = [], []
    for step in range(0, 12):
        moved = Color("lab-d65", [lightness, a - 6 * step, b - 6 * step]).convert("srgb").fit("srgb")
        hex_value = moved.to_string(hex=True)
        distances.append(delta_e(hex_value, "#ff6f61"))
        scores.append(brand_consistency(solid(hex_value), PALETTE[1:2]))
    assert distances == sorted(distances)
    assert all(later < earlier for earlier, later in zip(scores, scores[1:], strict=False)), scores
    assert scores[0] > 99.9


def test_color_score_curve():
    assert color_score(0) == 100
    assert color_score(20) == pytest.approx(100 / np.e)
    values = [color_score(d) for d in np.linspace(0, 100, 201)]
    assert all(b < a for a, b in zip(values, values[1:], strict=False))


def test_scoring_a_768_image_is_fast():
    image = noise(768)
    best = min(_timed(lambda: brand_consistency(image, PALETTE)) for _ in range(3))
    assert best < 0.2


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_image_checks():
    assert image_checks(solid("#000000", (512, 512))) == ["nan_or_black"]
    assert image_checks(Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8))) == ["nan_or_black"]
    assert image_checks(Image.fromarray(np.full((64, 64), np.nan, dtype=np.float32), "F")) == ["nan_or_black"]
    dark_noise = Image.fromarray(np.random.default_rng(1).integers(0, 4, (64, 64, 3), dtype=np.uint8))
    assert image_checks(dark_noise) == ["nan_or_black"]
    assert image_checks(solid("#ffffff", (512, 512))) == ["blank"]
    assert image_checks(solid("#3a7d44")) == ["blank"]
    grey = np.full((256, 256, 3), 128.0) + np.random.default_rng(2).normal(0, 5, (256, 256, 3))
    assert image_checks(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))) == ["near_uniform"]
    assert image_checks(noise(768)) == []
    night_sky = np.zeros((256, 256, 3), dtype=np.uint8)
    night_sky[::8, ::8] = 255  # stars on black: a real design, not a failed decode
    assert image_checks(Image.fromarray(night_sky)) == []


def _mean_distance(image):
    colours = dominant_colors(image, k=8)
    return sum(share * min(delta_e(h, p.hex) for p in PALETTE) for h, share in colours)


def test_harmonize_moves_colours_toward_the_palette():
    rng = np.random.default_rng(3)
    base = np.zeros((200, 200, 3), dtype=np.float32)
    base[:, :100] = (60, 90, 160)  # a bluish area (nearest: navy)
    base[:, 100:] = (230, 120, 60)  # an orange area (nearest: coral)
    image = Image.fromarray(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))
    before = _mean_distance(image)
    gentle, strong = harmonize(image, PALETTE, 0.3), harmonize(image, PALETTE, 0.8)
    assert _mean_distance(strong) < _mean_distance(gentle) < before
    # lightness is kept: shading and detail survive
    lum = np.asarray(image.convert("L"), dtype=np.float32)
    assert np.abs(np.asarray(gentle.convert("L"), dtype=np.float32) - lum).mean() < 6
    assert np.asarray(gentle, dtype=np.float32)[:, :100].std() > 3  # texture not posterised away


def test_harmonize_identity_alpha_and_speed():
    image = noise(256).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((256, 256)))
    assert np.array_equal(np.asarray(harmonize(image, PALETTE, 0.0)), np.asarray(image))
    assert np.array_equal(np.asarray(harmonize(image, (), 0.5)), np.asarray(image))
    moved = harmonize(image, PALETTE, 0.5)
    assert moved.mode == "RGBA" and np.array_equal(np.asarray(moved)[..., 3], np.asarray(image)[..., 3])
    with pytest.raises(ValueError):
        harmonize(image, PALETTE, 1.5)
    big = noise(768)
    assert min(_timed(lambda: harmonize(big, PALETTE)) for _ in range(2)) < 1.0


def test_a_small_motif_keeps_its_own_colour_on_a_shaded_background():
    # A generated design's background is never one flat value: median cut alone gave most of the k
    # colours to its shades and averaged the small coral motif with its edges.
    rng = np.random.default_rng(1)
    base = np.empty((128, 128, 3), dtype=np.float32)
    base[:] = (31, 42, 68)  # navy
    base += rng.normal(0, 3, base.shape) + np.linspace(-6, 6, 128)[None, :, None]
    base[20:40, 90:110] = (255, 111, 97)  # a 400 px coral motif: 2.4 % of the image
    base[19, 90:110] = base[40, 90:110] = (143, 76, 82)  # its anti-aliased edge
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    colours = dominant_colors(image, k=5)
    coral = min(colours, key=lambda item: delta_e(item[0], "#ff6f61"))
    assert delta_e(coral[0], "#ff6f61") < 3
    assert coral[1] == pytest.approx(0.024, abs=0.004)
    navy_shades = [hex_value for hex_value, _ in colours if delta_e(hex_value, "#1f2a44") < 5]
    assert sum(share for hex_value, share in colours if hex_value in navy_shades) > 0.9
