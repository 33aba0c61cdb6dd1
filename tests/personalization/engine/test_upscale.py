"""The print upscaler on a tiny random-weight x4 upscaler (see personalization/engine/tiny.py).

Random weights upscale to noise: these tests check sizes, tiling, passes, caching and validation,
not picture quality.
"""

import logging

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, StableDiffusionUpscalePipeline
from PIL import Image

from personalization.engine.tiny import build_tiny_upscaler
from personalization.engine.upscale import diffusers_upscaler, load_upscaler


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The tiny models are far faster on one thread (no OpenMP overhead, no contention on a busy CI box)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_upscaler(tmp_path_factory):
    return build_tiny_upscaler(tmp_path_factory.mktemp("tiny_x4") / "upscaler")


def noise(size):
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def upscaler(model, **kwargs):
    return diffusers_upscaler(str(model), device="cpu", dtype="float32", steps=2, **kwargs)


def test_tiny_upscaler_loads_with_from_pretrained_in_the_x4_layout(tiny_upscaler):
    pipe = StableDiffusionUpscalePipeline.from_pretrained(tiny_upscaler, local_files_only=True)
    assert pipe.unet.config.in_channels == 7 and pipe.unet.config.num_class_embeds == 1000
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size
    assert pipe.vae.config.scaling_factor == 0.08333 and pipe.vae_scale_factor == 4
    assert isinstance(pipe.low_res_scheduler, DDPMScheduler)
    assert isinstance(pipe.scheduler, DDIMScheduler)
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.config.max_noise_level == 350


def test_same_seed_writes_the_same_weights(tiny_upscaler, tmp_path):
    def weights(directory):
        return (directory / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()

    assert weights(build_tiny_upscaler(tmp_path / "again", seed=0)) == weights(tiny_upscaler)


def test_load_upscaler_is_loaded_once_per_process_with_progress_bars_off(tiny_upscaler):
    pipe = load_upscaler(str(tiny_upscaler), device="cpu", dtype="float32")
    assert load_upscaler(str(tiny_upscaler), device=torch.device("cpu"), dtype=torch.float32) is pipe
    assert pipe.device.type == "cpu" and pipe.unet.dtype == torch.float32
    assert pipe._progress_bar_config == {"disable": True}


def test_returns_exactly_the_size_asked_for_and_differs_from_lanczos(tiny_upscaler):
    source = noise((70, 50))
    # 32 px tiles: a 72 x 56 padded input is cut into 3 x 2 overlapping tiles.
    result = upscaler(tiny_upscaler, tile_size=32)(source, (250, 179))
    assert result.size == (250, 179) and result.mode == "RGB"
    lanczos = source.resize((250, 179), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(result, float) - np.asarray(lanczos, float)).mean() > 10


def test_same_seed_same_pixels(tiny_upscaler):
    source = noise((40, 40))
    first = upscaler(tiny_upscaler)(source, (150, 150))
    assert np.array_equal(np.asarray(first), np.asarray(upscaler(tiny_upscaler)(source, (150, 150))))
    assert not np.array_equal(
        np.asarray(first), np.asarray(upscaler(tiny_upscaler, seed=1)(source, (150, 150)))
    )


def test_two_passes_when_four_times_is_not_enough(tiny_upscaler, caplog):
    caplog.set_level(logging.INFO, logger="personalization.engine.upscale")
    result = upscaler(tiny_upscaler)(noise((16, 12)), (200, 150))
    assert result.size == (200, 150)
    # 16x12 -> 64x48, shrunk to 50x38 (what the second pass needs) -> 200x152, Lanczos to 200x150.
    assert "16x12 -> 200x152, then Lanczos to 200x150" in caplog.text


def test_the_input_of_a_pass_is_capped(tiny_upscaler, caplog):
    caplog.set_level(logging.INFO, logger="personalization.engine.upscale")
    result = upscaler(tiny_upscaler, tile_size=32, max_input_side=32)(noise((70, 50)), (300, 214))
    assert result.size == (300, 214)
    assert "70x50 -> 128x92" in caplog.text  # shrunk to 32x23 first; the second pass would not enlarge it


def test_an_image_large_enough_is_only_resized():
    source = noise((100, 80))
    result = diffusers_upscaler("no/such-model", device="cpu")(source, (50, 40))  # never loads a model
    assert np.array_equal(np.asarray(result), np.asarray(source.resize((50, 40), Image.Resampling.LANCZOS)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": ""}, "upscaler model"),
        ({"steps": 0}, "steps"),
        ({"steps": 151}, "steps"),
        ({"steps": "20"}, "steps"),
        ({"prompt": None}, "prompt"),
        ({"guidance_scale": -1}, "guidance_scale"),
        ({"tile_size": 100}, "tile_size"),
        ({"tile_size": 1024}, "tile_size"),
        ({"max_input_side": 64}, "max_input_side"),
        ({"seed": -1}, "seed"),
        ({"device": "tpu"}, "device"),
        ({"dtype": "float8"}, "dtype"),
    ],
)
def test_bad_arguments_are_short_value_errors(kwargs, message):
    arguments = {"model": "stabilityai/stable-diffusion-x4-upscaler", "device": "cpu", **kwargs}
    with pytest.raises(ValueError, match=message):
        diffusers_upscaler(arguments.pop("model"), **arguments)


@pytest.mark.parametrize(
    "image, size, message",
    [
        ("not an image", (64, 64), "image"),
        (Image.new("RGB", (8, 8)), (0, 64), "size"),
        (Image.new("RGB", (8, 8)), (64,), "size"),
        (Image.new("RGB", (8, 8)), (64.0, 64), "size"),
        (Image.new("RGB", (8, 8)), (64, 20_001), "size"),
    ],
)
def test_bad_calls_are_short_value_errors(image, size, message):
    upscale = diffusers_upscaler("stabilityai/stable-diffusion-x4-upscaler", device="cpu")
    with pytest.raises(ValueError, match=message):
        upscale(image, size)


def test_load_upscaler_rejects_an_empty_model():
    with pytest.raises(ValueError, match="upscaler model"):
        load_upscaler("", device="cpu", dtype="float32")
