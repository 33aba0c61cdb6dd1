"""The print upscaler: Stable Diffusion's x4 upscaler (`StableDiffusionUpscalePipeline`), tiled.

    upscale = diffusers_upscaler("stabilityai/stable-diffusion-x4-upscaler", device="auto", dtype="auto")
    big = upscale(design, (3024, 3614))  # exactly 3024 x 3614 px

Only the GPU worker process imports this module (it imports torch and diffusers).

Memory stays bounded by tiling: the x4 UNet runs on its latents at the *input* resolution and the
VAE decodes 4x that, so a whole 768 px design at once would be a 3072 px decode. Instead each pass
cuts its input into `tile_size` px tiles (128 by default: the x4 upscaler's training size, 512 px
out) overlapping by an eighth, upscales them one by one, and blends the overlaps with linear
feathering. Peak memory is one tile's, whatever the print size. Time is bounded by a cap on each
pass's input (`max_input_side`, 1024 px on a GPU, 256 px on the CPU, where one real tile takes tens
of seconds): a larger input is first shrunk with Lanczos. At most two passes (16x) run, the second
only when more than 2x is still missing; the result is then resized with Lanczos to exactly the size
asked for.
"""

import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from diffusers import StableDiffusionUpscalePipeline
from PIL import Image

from personalization.engine.loading import resolve_device, resolve_dtype

logger = logging.getLogger(__name__)

FACTOR = 4  # the x4 upscaler's scale
MAX_PASSES = 2
# A second pass runs only when more than this is still missing: its input is the first pass's output
# shrunk to a quarter of the target, so for less it would throw away more than it adds. Lanczos
# does the rest.
MIN_LATER_PASS_GAIN = 2.0
NOISE_LEVEL = 20  # noise added to the low-res input (diffusers' default; the model allows 0..350)
MAX_OUTPUT_SIDE = 20_000
MAX_INPUT_SIDE = {"cuda": 1024, "mps": 1024, "cpu": 256}

Upscaler = Callable[[Image.Image, tuple[int, int]], Image.Image]

_upscalers: dict[tuple[str, torch.device, torch.dtype], StableDiffusionUpscalePipeline] = {}
_lock = threading.Lock()  # a pipeline runs one call at a time


def load_upscaler(
    model: str, *, device: torch.device | str, dtype: torch.dtype | str
) -> StableDiffusionUpscalePipeline:
    """The process-wide x4 upscaler for a hub id or a local directory, loaded on first call.

    A local directory (or HF_HUB_OFFLINE=1) never touches the network; no safety checker or
    watermarker; progress bars off.
    """
    if not isinstance(model, str) or not model:
        raise ValueError("the upscaler model must be a hub id or a directory")
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    dtype = resolve_dtype(dtype, device) if isinstance(dtype, str) else dtype
    key = (model, device, dtype)
    with _lock:
        if key not in _upscalers:
            offline = Path(model).is_dir() or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
            pipe = StableDiffusionUpscalePipeline.from_pretrained(
                model,
                dtype=dtype,
                safety_checker=None,
                feature_extractor=None,
                watermarker=None,
                local_files_only=offline,
            )
            pipe.to(device)
            pipe.set_progress_bar_config(disable=True)
            _upscalers[key] = pipe
        return _upscalers[key]


def diffusers_upscaler(
    model: str,
    *,
    device: str = "auto",
    dtype: str = "auto",
    steps: int = 20,
    prompt: str = "",
    guidance_scale: float = 9.0,
    tile_size: int = 128,
    max_input_side: int | None = None,
    seed: int = 0,
) -> Upscaler:
    """An `upscaler(image, (width, height))` for `personalization.printing.print_file`.

    It runs the x4 upscaler (tiled, at most two passes) and returns an RGB image of exactly
    `(width, height)`; give a size with the image's aspect ratio (print_file does). An image that is
    already large enough is only resized. The pipeline is loaded on the first call that needs it.
    `guidance_scale` applies only with a `prompt` (an empty prompt against the empty negative
    prompt would double the work for the same result). The same `seed` gives the same pixels.
    """
    if not isinstance(model, str) or not model:
        raise ValueError("the upscaler model must be a hub id or a directory")
    if not isinstance(steps, int) or not 1 <= steps <= 150:
        raise ValueError("steps must be an integer between 1 and 150")
    if not isinstance(prompt, str):
        raise ValueError("prompt must be a string")
    if not 0 <= guidance_scale <= 30:
        raise ValueError("guidance_scale must be between 0 and 30")
    if not isinstance(tile_size, int) or tile_size % 8 or not 32 <= tile_size <= 512:
        raise ValueError("tile_size must be a multiple of 8 between 32 and 512")
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    if max_input_side is None:
        max_input_side = MAX_INPUT_SIDE[torch_device.type]
    if not isinstance(max_input_side, int) or max_input_side < tile_size:
        raise ValueError("max_input_side must be an integer >= tile_size")
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError("seed must be a non-negative integer")

    def upscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
        if not isinstance(image, Image.Image) or min(image.size) < 1:
            raise ValueError("image must be a non-empty PIL image")
        if (
            not isinstance(size, tuple | list)
            or len(size) != 2
            or not all(isinstance(side, int) and 1 <= side <= MAX_OUTPUT_SIDE for side in size)
        ):
            raise ValueError(f"size must be two integers between 1 and {MAX_OUTPUT_SIDE}")
        width, height = size
        image = image.convert("RGB")
        source_size = image.size
        for index in range(MAX_PASSES):
            missing = max(width / image.width, height / image.height)
            if missing <= 1 or (index > 0 and missing <= MIN_LATER_PASS_GAIN):
                break
            # Time cap on the input; a later pass (whose input is model output) gets only what it needs.
            shrink = max_input_side / max(image.size)
            if index > 0:
                shrink = min(shrink, missing / FACTOR)
            if shrink < 1:
                if max(image.size) * shrink * FACTOR <= max(image.size):
                    break  # the pass would not make the image any larger
                image = image.resize(
                    (max(1, math.ceil(image.width * shrink)), max(1, math.ceil(image.height * shrink))),
                    Image.Resampling.LANCZOS,
                )
            pipe = load_upscaler(model, device=torch_device, dtype=torch_dtype)
            with _lock:
                image = _upscale_x4_tiled(
                    pipe,
                    image,
                    prompt=prompt,
                    steps=steps,
                    guidance_scale=guidance_scale if prompt else 1.0,
                    tile_size=tile_size,
                    seed=seed,
                )
        logger.info(
            "print upscaler %s: %sx%s -> %sx%s, then Lanczos to %sx%s",
            model,
            *source_size,
            *image.size,
            width,
            height,
        )
        if image.size == (width, height):
            return image
        return image.resize((width, height), Image.Resampling.LANCZOS)

    return upscale


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    return [*range(0, length - tile, tile - overlap), length - tile]


def _feather(length: int, ramp: int) -> np.ndarray:
    """Weights rising linearly over `ramp` px from each end (never zero), for blending overlaps."""
    x = np.arange(length, dtype=np.float32) + 0.5
    return np.minimum(np.minimum(x, length - x) / ramp, 1.0)


def _upscale_x4_tiled(
    pipe: StableDiffusionUpscalePipeline,
    image: Image.Image,
    *,
    prompt: str,
    steps: int,
    guidance_scale: float,
    tile_size: int,
    seed: int,
) -> Image.Image:
    """One x4 pass: overlapping tiles, each upscaled on its own, blended with feathered weights."""
    width, height = image.size
    # Edge-pad to a multiple of 8 (the UNet downsamples); the padding is cropped off the result.
    pixels = np.asarray(image)
    padded_h, padded_w = -(-height // 8) * 8, -(-width // 8) * 8
    pixels = np.pad(pixels, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="edge")
    overlap = tile_size // 8
    out = np.zeros((padded_h * FACTOR, padded_w * FACTOR, 3), dtype=np.float32)
    weight = np.zeros((padded_h * FACTOR, padded_w * FACTOR, 1), dtype=np.float32)
    starts = [
        (top, left)
        for top in _tile_starts(padded_h, tile_size, overlap)
        for left in _tile_starts(padded_w, tile_size, overlap)
    ]
    for index, (top, left) in enumerate(starts):
        tile = pixels[top : top + tile_size, left : left + tile_size]
        with torch.inference_mode():
            result = pipe(
                prompt=prompt,
                image=Image.fromarray(tile),
                num_inference_steps=steps,
                guidance_scale=guidance_scale,
                noise_level=NOISE_LEVEL,
                generator=torch.Generator(device="cpu").manual_seed(seed + index),
                output_type="np",
            ).images[0]
        tile_h, tile_w = result.shape[:2]
        ramp = overlap * FACTOR
        tile_weight = np.outer(_feather(tile_h, ramp), _feather(tile_w, ramp))[..., None]
        y, x = top * FACTOR, left * FACTOR
        out[y : y + tile_h, x : x + tile_w] += result * tile_weight
        weight[y : y + tile_h, x : x + tile_w] += tile_weight
    blended = np.clip(out / weight * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(blended[: height * FACTOR, : width * FACTOR])
