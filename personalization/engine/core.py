"""The engine: one Stable Diffusion 2.x pipeline per model preset and worker process, and
`Engine.generate(jobs)`.

    engine = get_engine("stabilityai/stable-diffusion-2-1", preset="sd21", device="auto", dtype="auto")
    images = engine.generate([Job(prompt="a red fox on a mug", seeds=[1, 2])])  # [[img, img]]

The preset (personalization.presets) decides the scheduler and the prediction type the weights must
have; a job with a guidance scale of at most 1 (SD-Turbo's 0) runs without classifier-free guidance:
one UNet pass per step, no negative prompt.

The pipeline is loaded on first use, inside the worker process (never at import time, so a parent
process can fork workers before CUDA is initialised). A pipeline runs one call at a time.
"""

import gc
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from PIL import Image

from personalization.engine.loading import (
    attention_backend,
    load_pipeline,
    preset_for,
    resolve_device,
    resolve_dtype,
)
from personalization.engine.options import COMPILE_MODE, check_attention, check_compile_mode, check_dtype
from personalization.engine.rules import Job, check_batch  # Job lives with its rules (no torch)

logger = logging.getLogger(__name__)

# The scheduler of the default preset "sd21" (an Engine's own is `engine.scheduler_name`).
SCHEDULER_NAME = preset_for("sd21").scheduler_label

# on_step(step_done, total, latents): step_done runs 1..total.
StepCallback = Callable[[int, int, torch.Tensor], None]


class EngineError(Exception):
    """A generation failed for a reason that is not the caller's input."""


class EngineOutOfMemory(EngineError):
    """The GPU ran out of memory. The memory has been released: the next call may succeed."""


class EngineAdapterError(EngineError):
    """A job's LoRA file could not be loaded into the pipeline (not a LoRA for this model). The base
    model is left exactly as it was."""


class GenerationCancelled(Exception):
    """Raise it from `on_step` to stop a run at that step; `generate` lets it propagate."""


def validate_jobs(jobs: list[Job]) -> None:
    """Raise a short ValueError (rules.RuleBroken) for anything the pipeline would reject (or run on
    uselessly). The rules live in rules.py, without torch: the submit service checks the same ones."""
    check_batch(jobs)


def decode_latents(pipe: StableDiffusionPipeline, latents: torch.Tensor) -> list[Image.Image]:
    """VAE-decode latents to PIL images, without ever returning a black (NaN) picture."""
    return to_pil(decode_to_tensor(pipe, latents))


def decode_to_tensor(pipe: StableDiffusionPipeline, latents: torch.Tensor) -> torch.Tensor:
    """VAE-decode latents to images in [-1, 1] ([B, 3, H, W], on the pipeline's device), all finite.

    The VAE runs in the pipeline's dtype. If a float16 decode overflows (inf/NaN, which would come out
    black), it is redone with the VAE in float32, as diffusers does for VAEs with `force_upcast`.
    """
    vae = pipe.vae
    scaled = latents / vae.config.scaling_factor
    image = vae.decode(scaled.to(vae.dtype), return_dict=False)[0]
    if not torch.isfinite(image).all() and vae.dtype == torch.float16 and vae.config.force_upcast:
        logger.warning("float16 VAE decode overflowed; decoding again in float32")
        vae.to(torch.float32)
        try:
            image = vae.decode(scaled.to(torch.float32), return_dict=False)[0]
        finally:
            vae.to(torch.float16)
    if not torch.isfinite(image).all():
        raise EngineError("the decoded image has NaN/inf values")
    return image


def to_pil(image: torch.Tensor) -> list[Image.Image]:
    """Decoded images in [-1, 1] ([B, 3, H, W]) to PIL, converted to 8 bits where they are.

    The same arithmetic as diffusers' `VaeImageProcessor.postprocess(image, output_type="pil")`
    (denormalize in the tensor's dtype, then `round(x * 255)` in float32), so the pixels are identical,
    but it runs on the GPU and copies 1 byte per channel to the host instead of 4 (a 768 px float16
    image: 1.7 MB instead of 3.5 MB copied and 7 MB of float32 arithmetic on the CPU).
    """
    unit = (image * 0.5 + 0.5).clamp(0, 1).float().permute(0, 2, 3, 1).contiguous()  # a new tensor
    pixels = unit.mul_(255).round_().to(torch.uint8).cpu().numpy()
    return [Image.fromarray(array) for array in pixels]


# Linear map from SD 1.x/2.x latents (4 channels, same VAE) to RGB in [-1, 1], as used for live previews
# by ComfyUI (latent_formats.SD15) and AUTOMATIC1111. Rows are latent channels, columns R, G, B.
LATENT_RGB_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
LATENT_RGB_BIAS = (0.0, 0.0, 0.0)


def latents_to_preview(latents: torch.Tensor, size: int = 128) -> list[Image.Image]:
    """A cheap RGB approximation of each latent in the batch (no VAE), at most `size` px a side."""
    factors = torch.tensor(LATENT_RGB_FACTORS, dtype=torch.float32, device=latents.device)
    bias = torch.tensor(LATENT_RGB_BIAS, dtype=torch.float32, device=latents.device)
    rgb = torch.einsum("bchw,cr->bhwr", latents.float(), factors) + bias  # [-1, 1]
    pixels = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    previews = []
    for array in pixels:
        preview = Image.fromarray(array)
        preview.thumbnail((size, size), Image.Resampling.BILINEAR)  # latents are 1/8 scale: often a no-op
        if max(preview.size) < size:
            scale = size / max(preview.size)
            target = (max(1, round(preview.width * scale)), max(1, round(preview.height * scale)))
            preview = preview.resize(target, Image.Resampling.BILINEAR)
        previews.append(preview)
    return previews


def adapter_name(lora_path: str) -> str:
    """A stable adapter name for a LoRA file, which changes when the file is replaced."""
    path = Path(lora_path).resolve()
    stat = path.stat()
    digest = hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"lora_{digest}"


class Engine:
    """Loads the pipeline once (lazily) and generates images for batches of compatible jobs."""

    def __init__(
        self,
        model: str,
        *,
        preset: str = "sd21",
        device: str = "auto",
        dtype: str = "auto",
        compile: bool = False,
        compile_mode: str = COMPILE_MODE,
        attention: str = "default",
    ):
        check_dtype(dtype)
        check_compile_mode(compile_mode)
        check_attention(attention)
        self.model_name = model
        self.preset = preset_for(preset)  # the built-in preset: its scheduler and prediction type
        self.scheduler_name = self.preset.scheduler_label
        self.compile = compile
        self.compile_mode = compile_mode
        self.attention = attention
        self._device_name = device
        self._dtype_name = dtype
        self._device: torch.device | None = None
        self._dtype: torch.dtype | None = None
        self._pipe: StableDiffusionPipeline | None = None
        self._img2img: StableDiffusionImg2ImgPipeline | None = None
        self._lora: str | None = None  # the adapter loaded now (at most one), by name
        self._warmed: set[tuple[int, int, int]] = set()
        self._lock = threading.Lock()

    @property
    def key(self) -> tuple:
        """What makes two Engines the same (get_engine keeps one per key)."""
        return (
            self.model_name,
            self.preset.name,
            self._device_name,
            self._dtype_name,
            self.compile,
            self.compile_mode,
            self.attention,
        )

    @property
    def device(self) -> torch.device:
        if self._device is None:
            self._device = resolve_device(self._device_name)
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        if self._dtype is None:
            self._dtype = resolve_dtype(self._dtype_name, self.device)
        return self._dtype

    @property
    def pipeline(self) -> StableDiffusionPipeline:
        """The text-to-image pipeline, loaded on first access."""
        if self._pipe is None:
            self._pipe = load_pipeline(
                self.model_name,
                device=self.device,
                dtype=self.dtype,
                preset=self.preset,
                compile=self.compile,
                compile_mode=self.compile_mode,
            )
            # Same modules, same scheduler object: no extra memory. from_pipe casts every module to its
            # `dtype` argument (float32 by default), so pass the pipeline's own.
            self._img2img = StableDiffusionImg2ImgPipeline.from_pipe(self._pipe, dtype=self._pipe.dtype)
            self._img2img.set_progress_bar_config(disable=True)
        return self._pipe

    def generate(self, jobs: list[Job], *, on_step: StepCallback | None = None) -> list[list[Image.Image]]:
        """Run compatible jobs as ONE pipeline call; return the images of each job, one per seed.

        `on_step(step_done, total, latents)` is called after every denoising step; an exception it
        raises (e.g. GenerationCancelled) stops the run there and propagates. A CUDA out-of-memory
        error is turned into EngineOutOfMemory after the memory is released.
        """
        validate_jobs(jobs)
        with self._lock:
            out_of_memory = False
            try:
                images = self._run(jobs, on_step)
            except torch.cuda.OutOfMemoryError:  # also torch.OutOfMemoryError (the same class)
                # Leave the except block before cleaning up: the traceback's frames hold the tensors.
                out_of_memory = True
            if out_of_memory:
                self._unload_lora()
                self._release_memory()
                raise EngineOutOfMemory("the GPU ran out of memory; try fewer images or a smaller size")
        sizes = [len(job.seeds) for job in jobs]
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [images[start : start + size] for start, size in zip(starts, sizes, strict=True)]

    def _run(self, jobs: list[Job], on_step: StepCallback | None) -> list[Image.Image]:
        pipe = self.pipeline
        first = jobs[0]
        prompts = [job.prompt for job in jobs for _ in job.seeds]
        # diffusers runs classifier-free guidance only for a guidance scale above 1 (SD-Turbo: 0):
        # without it the negative prompt is never encoded, so none is passed.
        guided = first.guidance_scale > 1
        negative_prompts = [job.negative_prompt for job in jobs for _ in job.seeds] if guided else None
        # One CPU generator per image: the same seed gives the same starting noise on any device
        # and in any batch position.
        generators = [torch.Generator(device="cpu").manual_seed(seed) for job in jobs for seed in job.seeds]

        def callback(pipeline, step_index, timestep, tensors):
            if on_step is not None:
                on_step(step_index + 1, pipeline.num_timesteps, tensors["latents"])
            return {}

        common = {
            "prompt": prompts,
            "negative_prompt": negative_prompts,
            "num_inference_steps": first.steps,
            "guidance_scale": first.guidance_scale,
            "generator": generators,
            "output_type": "latent",
            "callback_on_step_end": callback,
            "callback_on_step_end_tensor_inputs": ["latents"],
        }
        self._use_lora(first.lora_path, first.lora_scale)
        with torch.inference_mode(), attention_backend(self.attention):
            if first.reference_image is None:
                latents = pipe(height=first.height, width=first.width, **common).images
            else:
                # Recipe.job fitted the reference to width x height already (cover or contain,
                # sizing.fit_reference): this resize is a no-op then (Pillow returns a copy), a safety
                # net for a Job built by hand.
                reference = first.reference_image.convert("RGB").resize(
                    (first.width, first.height), Image.Resampling.LANCZOS
                )
                latents = self._img2img(image=reference, strength=first.strength, **common).images
            return decode_latents(pipe, latents)

    @property
    def loaded_lora(self) -> str | None:
        """The adapter name of the brand LoRA loaded now, or None: the base model runs unchanged."""
        return self._lora

    def _use_lora(self, lora_path: str | None, scale: float) -> None:
        """Make the pipeline exactly the base model plus this one LoRA at `scale` (None: no LoRA).

        A brand's LoRA is loaded for its brand's calls and unloaded (its layers removed, the base
        modules restored) as soon as a call for another brand, or for none, comes: back-to-back
        requests of one brand load it once, and nothing else ever runs through LoRA layers.
        """
        name = adapter_name(lora_path) if lora_path is not None else None
        if name != self._lora:
            self._unload_lora()
        if name is None:
            return
        pipe = self.pipeline
        if self._lora is None:
            try:
                pipe.load_lora_weights(lora_path, adapter_name=name)
            except BaseException as exc:
                # diffusers drops a half-loaded adapter but leaves its (empty) layers in the modules.
                pipe.unload_lora_weights()
                if isinstance(exc, Exception) and not isinstance(exc, torch.OutOfMemoryError):
                    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise EngineAdapterError(
                        f"the LoRA {Path(lora_path).name} could not be loaded: {first_line}"
                    ) from exc
                raise
            self._lora = name
        pipe.set_adapters([name], adapter_weights=[scale])

    def _unload_lora(self) -> None:
        if self._lora is not None:
            self._lora = None  # first: a failure below must not leave a name for half-removed layers
            self.pipeline.unload_lora_weights()

    def warm_up(self, shapes: list[tuple[int, int, int]], *, steps: int = 3, rounds: int = 2) -> list:
        """Run each (width, height, images) shape not warmed yet `rounds` times, so that compiling,
        autotuning and CUDA-graph recording happen now, before any customer's request (and its lease)
        waits on them. The preset's default guidance (so the UNet batch is the one requests use: two
        passes per image with classifier-free guidance, one without) and at most its steps. Returns
        the shapes it ran."""
        ran = []
        steps = max(self.preset.min_steps, min(steps, self.preset.max_steps))
        for shape in dict.fromkeys(shapes):
            if shape in self._warmed:
                continue
            width, height, images = shape
            job = Job(
                prompt="warm-up",
                seeds=list(range(images)),
                steps=steps,
                guidance_scale=self.preset.default_guidance,
                width=width,
                height=height,
            )
            for _ in range(rounds):
                self.generate([job])
            self._warmed.add(shape)
            ran.append(shape)
        return ran

    def _release_memory(self) -> None:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


_engines: dict[tuple, Engine] = {}


def get_engine(model: str, *, preset: str = "sd21", **options) -> Engine:
    """The process-wide Engine for `model` run as model preset `preset` and these `Engine` options
    (device, dtype, compile, compile_mode, attention): created on first call, loaded on first
    generate. Options left out and options given with their default value are the same Engine; one
    model under two presets is two Engines (the second refused at load if its prediction type is
    not the model's)."""
    candidate = Engine(model, preset=preset, **options)  # checks the options; loads nothing
    return _engines.setdefault(candidate.key, candidate)
