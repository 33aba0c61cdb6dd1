"""Loading a Stable Diffusion 2.x pipeline for a model preset: explicit device, dtype, the preset's
scheduler and attention.

Only the GPU worker process imports this module (it imports torch and diffusers).
"""

import contextlib
import os
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler, StableDiffusionPipeline
from diffusers.models.attention_processor import AttnProcessor2_0
from torch.nn.attention import SDPBackend, sdpa_kernel

from personalization import presets
from personalization.engine.options import (
    ATTENTION_NAMES,
    COMPILE_MODE,
    check_attention,
    check_compile_mode,
)

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}

# Scaled-dot-product-attention backends, in priority order; "default" leaves PyTorch's own order
# (flash, memory-efficient, math, then cuDNN in torch 2.11-2.13). A backend that cannot take an input
# (the VAE's single 512-wide head, a CPU tensor for cuDNN) falls through to the next one.
ATTENTION_BACKENDS: dict[str, list[SDPBackend] | None] = {
    "default": None,
    "cudnn": [
        SDPBackend.CUDNN_ATTENTION,
        SDPBackend.FLASH_ATTENTION,
        SDPBackend.EFFICIENT_ATTENTION,
        SDPBackend.MATH,
    ],
    "flash": [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH],
    "efficient": [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.MATH],
    "math": [SDPBackend.MATH],
}
assert tuple(ATTENTION_BACKENDS) == ATTENTION_NAMES


def attention_backend(name: str):
    """A context manager that runs SDPA with the backends of `name`, in that order of priority.

    Under torch.compile the choice is made when a graph is traced, so wrap every call the same way.
    """
    backends = ATTENTION_BACKENDS[check_attention(name)]
    if backends is None:
        return contextlib.nullcontext()
    return sdpa_kernel(backends, set_priority=True)


def resolve_device(name: str) -> torch.device:
    """Map "auto" (cuda, then mps, then cpu) or an explicit "cpu", "cuda", "cuda:1", "mps" to a device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {name!r}") from exc
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {name!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but MPS is not available")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """Map "auto" (float16 on CUDA, float32 elsewhere), "float16", "bfloat16" or "float32" to a dtype."""
    if name == "auto":
        return torch.float16 if torch.device(device).type == "cuda" else torch.float32
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of auto, {', '.join(DTYPES)}")
    return DTYPES[name]


class ModelPresetMismatch(ValueError):
    """The model's weights are not of the preset's kind (e.g. a v-prediction 768-v model loaded as the
    epsilon "sd21-base"): its pictures would be noise, so it is refused before any generation."""


def preset_for(preset: "presets.Preset | str") -> "presets.Preset":
    """The built-in preset of that name (its scheduler and prediction type are never overridden)."""
    name = preset.name if isinstance(preset, presets.Preset) else preset
    if name not in presets.BUILT_IN:
        raise ValueError(f"unknown model preset {name!r}; use one of {', '.join(presets.BUILT_IN)}")
    return presets.BUILT_IN[name]


def check_prediction_type(config, preset: "presets.Preset | str", *, model: str = "the model") -> None:
    """Refuse a model whose scheduler config predicts something else than the preset expects."""
    preset = preset_for(preset)
    found = config.get("prediction_type") or "epsilon"  # diffusers' default when a config has none
    if found != preset.prediction_type:
        raise ModelPresetMismatch(
            f"{model} is a {found} model, but the preset {preset.name!r} ({preset.label}) expects "
            f"{preset.prediction_type}: point PERSONALIZATION['MODELS'][{preset.name!r}] at weights of "
            "that kind, or use the preset that matches these weights"
        )


def make_scheduler(config, preset: "presets.Preset | str" = "sd21"):
    """The preset's scheduler (presets.SCHEDULERS), built from the model's scheduler config so that
    its betas, timesteps and prediction_type are the model's.

    "dpmsolver++-2m": DPM-Solver++ 2M (SD 2.1 and 2.1-base); "euler-trailing": Euler with trailing
    timestep spacing (SD-Turbo's model card), which starts from the last training timestep, so one
    step denoises from pure noise. A model whose prediction_type is not the preset's is refused
    (ModelPresetMismatch): SD 2.1 (768) is a v-prediction model, and a scheduler that assumed
    epsilon would produce garbage.
    """
    preset = preset_for(preset)
    check_prediction_type(config, preset)
    if preset.scheduler == "dpmsolver++-2m":
        scheduler = DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2
        )
    elif preset.scheduler == "euler-trailing":
        scheduler = EulerDiscreteScheduler.from_config(config, timestep_spacing="trailing")
    else:  # presets.Preset.problems() refuses such a preset; this is the engine's own guard
        known = ", ".join(presets.SCHEDULERS)
        raise ValueError(f"unknown scheduler {preset.scheduler!r}; use one of {known}")
    if scheduler.config.prediction_type != preset.prediction_type:
        raise RuntimeError("the scheduler lost the model's prediction_type")
    return scheduler


def configure_pipeline(
    pipe: StableDiffusionPipeline, *, device: torch.device, preset: "presets.Preset | str" = "sd21"
) -> StableDiffusionPipeline:
    """The preset's scheduler, attention and memory format: everything after the weights are on
    `device`."""
    pipe.scheduler = make_scheduler(pipe.scheduler.config, preset)
    # PyTorch's scaled_dot_product_attention (flash / memory-efficient kernels on CUDA). Its fused
    # kernels keep the softmax in fp32, which is what SD 2.1's `upcast_attention` asks for.
    pipe.unet.set_attn_processor(AttnProcessor2_0())
    pipe.vae.set_attn_processor(AttnProcessor2_0())
    pipe.set_progress_bar_config(disable=True)

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # only affects float32 matmuls
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True  # pick the fastest conv kernel per input shape
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    return pipe


def compile_pipeline(
    pipe: StableDiffusionPipeline, *, mode: str = COMPILE_MODE, inductor_tuning: bool = False
) -> StableDiffusionPipeline:
    """torch.compile the UNet and the VAE decoder in place (the first call per input shape is slow).

    In place (`nn.Module.compile`), so `pipe.unet` stays a UNet2DConditionModel for LoRA loading.
    `inductor_tuning` adds the Inductor settings of diffusers' "accelerate inference" guide
    (coordinate-descent tuning of the generated kernels, no epilogue fusion): longer compiles, for the
    benchmark to measure what they bring.
    """
    check_compile_mode(mode)
    torch._inductor.config.conv_1x1_as_mm = True  # as in diffusers' "accelerate inference" guide
    if inductor_tuning:
        torch._inductor.config.coordinate_descent_tuning = True
        torch._inductor.config.coordinate_descent_check_all_directions = True
        torch._inductor.config.epilogue_fusion = False
    pipe.unet.compile(mode=mode, fullgraph=True)
    pipe.vae.decoder.compile(mode=mode, fullgraph=True)
    return pipe


def load_pipeline(
    model: str,
    *,
    device: torch.device | str,
    dtype: torch.dtype | str,
    preset: "presets.Preset | str" = "sd21",
    compile: bool = False,
    compile_mode: str = COMPILE_MODE,
) -> StableDiffusionPipeline:
    """Load a hub id or a local pipeline directory onto `device` in `dtype`, ready for inference with
    model preset `preset` (personalization.presets): the same code for real weights and the tiny
    demo models of `build_tiny_pipeline --preset`.

    A local directory (or HF_HUB_OFFLINE=1) never touches the network. The model's scheduler config
    is read first: weights whose prediction_type is not the preset's are refused (ModelPresetMismatch)
    before any weight is loaded. No safety checker (SD 2.x ships none), the preset's scheduler keeping
    the model's prediction_type, SDPA attention, no progress bars, channels_last on CUDA, and
    `torch.compile` (`compile_mode`) of the UNet and VAE decoder when `compile` is true.
    """
    preset = preset_for(preset)
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    dtype = resolve_dtype(dtype, device) if isinstance(dtype, str) else dtype
    offline = Path(model).is_dir() or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    scheduler_config = DPMSolverMultistepScheduler.load_config(
        model, subfolder="scheduler", local_files_only=offline
    )
    check_prediction_type(scheduler_config, preset, model=f"The model {model}")
    pipe = StableDiffusionPipeline.from_pretrained(
        model,
        dtype=dtype,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
        local_files_only=offline,
    )
    pipe.to(device)
    configure_pipeline(pipe, device=device, preset=preset)
    if compile:
        compile_pipeline(pipe, mode=compile_mode)
    return pipe
