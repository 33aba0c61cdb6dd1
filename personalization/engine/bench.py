"""Generation speed, measured on the production code path, per model preset.

    python -m personalization.engine.bench --arch sd21 --preset sd21 --size 768 --steps 25 --batch 1,2,4

"sd21" is the full-size Stable Diffusion 2.x architecture with random weights in the preset's layout
(same compute as the real model; the pictures are noise); "tiny" is the preset's test pipeline
(engine/tiny.py). Every image runs the preset's scheduler, classifier-free guidance when the guidance
scale is above 1 (two UNet passes per step; SD-Turbo's 0: one), the VAE decode and the conversion to
PIL, exactly as `Engine.generate` does. Steps and size are never changed behind the caller's back.
"""

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)

from personalization.engine.core import decode_to_tensor, to_pil
from personalization.engine.loading import (
    attention_backend,
    compile_pipeline,
    configure_pipeline,
    load_pipeline,
    preset_for,
    resolve_device,
    resolve_dtype,
)
from personalization.engine.options import ATTENTION_NAMES, COMPILE_MODE, check_attention
from personalization.engine.tiny import SD21_CONFIGS, build_tiny_pipeline, sd_turbo_scheduler_config

TEXT_TOKENS, TEXT_WIDTH = 77, 1024  # SD 2.1's text encoder output: [batch, 77, 1024]

# Compute of the full-size SD 2.1 architecture (torch.utils.flop_counter, ../shared/sd21/README.md):
# TFLOP of one UNet forward of one image, and of one VAE decode, per image size.
SD21_TFLOP = {512: {"unet": 0.804, "vae_decode": 2.5}, 768: {"unet": 2.149, "vae_decode": 5.75}}


def sd21_tflop_per_image(size: int, steps: int, *, guided: bool = True) -> float:
    """TFLOP of one image: two UNet passes per step with classifier-free guidance (one without),
    one VAE decode."""
    figures = SD21_TFLOP[size]
    return (2 if guided else 1) * steps * figures["unet"] + figures["vae_decode"]


def default_preset_for_size(size: int) -> str:
    """The preset a full-size random pipeline of `size` px had before presets: 768-v or -base."""
    return "sd21" if size == 768 else "sd21-base"


def scheduler_config_for(preset) -> tuple[type, dict]:
    """The scheduler class and config the preset's real weights ship (the loader then makes the
    preset's scheduler from it)."""
    preset = preset_for(preset)
    if preset.scheduler == "euler-trailing":
        return EulerDiscreteScheduler, sd_turbo_scheduler_config()
    config = read_config("scheduler", "scheduler_config.json")
    config.update(prediction_type=preset.prediction_type)
    return DDIMScheduler, config


def read_config(component: str, filename: str = "config.json") -> dict:
    return json.loads((SD21_CONFIGS / component / filename).read_text())


def build_sd21_random_pipeline(
    *, device: torch.device | str, dtype: torch.dtype | str, size: int, preset: str | None = None
) -> StableDiffusionPipeline:
    """The full-size SD 2.x UNet and VAE with random weights in the layout of model preset `preset`
    (default: "sd21" for 768, "sd21-base" for 512), configured like production.

    "sd21" is `stable-diffusion-2-1` (v-prediction, upcast attention, 96-latent UNet); "sd21-base"
    and "sd-turbo" (SD 2.1-base distilled: the same UNet) are epsilon models at 512. No text encoder
    or tokenizer: call it with `prompt_embeds` (and `negative_prompt_embeds`) [B, 77, 1024].
    """
    if size not in (512, 768):
        raise ValueError("size must be 512 or 768")
    preset = preset_for(preset or default_preset_for_size(size))
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    dtype = resolve_dtype(dtype, device) if isinstance(dtype, str) else dtype
    unet_config = read_config("unet")
    scheduler_class, scheduler_config = scheduler_config_for(preset)
    if preset.native_size == 512:
        unet_config.update(sample_size=64, upcast_attention=False)
    with torch.device(device):  # initialise the weights where they will run: seconds, not minutes
        unet = UNet2DConditionModel.from_config(unet_config).to(dtype)
        vae = AutoencoderKL.from_config(read_config("vae")).to(dtype)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=None,
        tokenizer=None,
        unet=unet,
        scheduler=scheduler_class.from_config(scheduler_config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return configure_pipeline(pipe, device=device, preset=preset)


def write_sd21_random_pipeline(
    out_dir: Path,
    *,
    size: int = 768,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | str = "auto",
    preset: str | None = None,
) -> Path:
    """Write a loadable full-size SD 2.x pipeline with random weights (UNet, VAE, the 23-layer text
    encoder) in the layout of `preset` (default: by size, as build_sd21_random_pipeline) to
    `out_dir`, for the end-to-end benchmark through the real worker on a GPU.

    The tokenizer is the tiny byte-level one (no BPE merges: vocab.json and merges.txt are not in the
    public configs); its token ids fit the real 49408-row embedding, and the compute is the model's.
    """
    from transformers import CLIPTextConfig, CLIPTextModel

    from personalization.engine.tiny import build_tiny_tokenizer

    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    dtype = resolve_dtype(dtype, device) if isinstance(dtype, str) else dtype
    pipe = build_sd21_random_pipeline(device=device, dtype=dtype, size=size, preset=preset)
    tokenizer = build_tiny_tokenizer()
    text_config = CLIPTextConfig(
        **{
            **read_config("text_encoder"),
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
    )
    with torch.device(device):
        text_encoder = CLIPTextModel(text_config).to(dtype)
    scheduler_class, scheduler_config = scheduler_config_for(preset or default_preset_for_size(size))
    full = StableDiffusionPipeline(
        vae=pipe.vae.to(memory_format=torch.contiguous_format),  # safetensors saves contiguous tensors
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=pipe.unet.to(memory_format=torch.contiguous_format),
        scheduler=scheduler_class.from_config(scheduler_config),  # as shipped; the loader sets the preset's
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    full.save_pretrained(out_dir)
    return Path(out_dir)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated by torch on CUDA; the process' peak resident memory elsewhere."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench_pipeline(
    *,
    arch: str,
    size: int,
    steps: int,
    batches: list[int],
    device: torch.device | str,
    dtype: torch.dtype | str,
    compile: bool = False,
    compile_mode: str = COMPILE_MODE,
    fuse_qkv: bool = False,
    attention: str = "default",
    inductor_tuning: bool = False,
    repeats: int = 3,
    warmup: int = 1,
    on_result=None,
    preset: str | None = None,
    guidance_scale: float | None = None,
) -> list[dict]:
    """Time full txt2img calls of model preset `preset` (its scheduler; `guidance_scale`, default the
    preset's: CFG above 1, none at SD-Turbo's 0; `steps` steps, VAE decode, PIL) for each batch size.
    `preset` defaults to "sd21" for the tiny model, and by size for "sd21" (768: sd21, 512:
    sd21-base).

    Returns one dict per batch size: seconds_per_call (median of `repeats`), seconds_per_image,
    images_per_second, peak_memory_mb, device_name, the settings, and `stages`: the median seconds of
    the denoising loop (text encoding, every UNet pass and scheduler step), the VAE decode and the
    conversion to PIL, which add up to the call. For "sd21", `achieved_tflops` is the compute rate
    the whole call sustained. `on_result(dict)` is called as soon as each batch size is measured (the
    CLI uses it to save partial results).
    """
    if arch not in ("tiny", "sd21"):
        raise ValueError("arch must be 'tiny' or 'sd21'")
    check_attention(attention)
    if steps < 1 or repeats < 1 or warmup < 0 or not batches or min(batches) < 1:
        raise ValueError("steps, repeats and batches must be positive")
    preset = preset_for(preset or ("sd21" if arch == "tiny" else default_preset_for_size(size)))
    guidance = preset.default_guidance if guidance_scale is None else float(guidance_scale)
    if guidance < 0:
        raise ValueError("guidance_scale must not be negative")
    guided = guidance > 1  # as diffusers decides: classifier-free guidance only above 1
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    dtype = resolve_dtype(dtype, device) if isinstance(dtype, str) else dtype

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if arch == "tiny":
            model = build_tiny_pipeline(Path(tmp) / f"tiny-{preset.name}", preset=preset.name)
            pipe = load_pipeline(str(model), device=device, dtype=dtype, preset=preset)
        else:
            pipe = build_sd21_random_pipeline(device=device, dtype=dtype, size=size, preset=preset.name)
    if fuse_qkv:
        pipe.fuse_qkv_projections()
    if compile:
        compile_pipeline(pipe, mode=compile_mode, inductor_tuning=inductor_tuning)
    build_seconds = time.perf_counter() - started

    results = []
    for batch in batches:

        def run(batch=batch):
            generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in range(batch)]
            if arch == "tiny":
                inputs = {"prompt": ["a benchmark prompt"] * batch}
                if guided:
                    inputs["negative_prompt"] = [""] * batch
            else:
                # Stand-ins for the text encoder's output (random, like the weights).
                shape = (batch, TEXT_TOKENS, TEXT_WIDTH)
                text = torch.Generator(device="cpu").manual_seed(batch)
                inputs = {"prompt_embeds": torch.randn(shape, generator=text).to(device, dtype)}
                if guided:
                    inputs["negative_prompt_embeds"] = torch.randn(shape, generator=text).to(device, dtype)
            marks = [time.perf_counter()]
            with torch.inference_mode(), attention_backend(attention):
                latents = pipe(
                    **inputs,
                    height=size,
                    width=size,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    generator=generators,
                    output_type="latent",
                ).images
                synchronize(device)
                marks.append(time.perf_counter())
                decoded = decode_to_tensor(pipe, latents)
                synchronize(device)
                marks.append(time.perf_counter())
                images = to_pil(decoded)
                marks.append(time.perf_counter())
            return images, [b - a for a, b in zip(marks, marks[1:], strict=False)]

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        first_started = time.perf_counter()
        for _ in range(warmup):
            run()
        synchronize(device)
        warmup_seconds = time.perf_counter() - first_started
        times, stages = [], []
        for _ in range(repeats):
            synchronize(device)
            call_started = time.perf_counter()
            images, stage_seconds = run()
            synchronize(device)
            times.append(time.perf_counter() - call_started)
            stages.append(stage_seconds)
        assert len(images) == batch and images[0].size == (size, size)
        seconds_per_call = statistics.median(times)
        stage_names = ("denoise", "vae_decode", "to_pil")
        stage_medians = {
            name: round(statistics.median(s[i] for s in stages), 4) for i, name in enumerate(stage_names)
        }
        result = {
            "arch": arch,
            "preset": preset.name,
            "scheduler": preset.scheduler_label,
            "size": size,
            "steps": steps,
            "batch": batch,
            "guidance_scale": guidance,
            "device": str(device),
            "device_name": device_name(device),
            "dtype": str(dtype).removeprefix("torch."),
            "compile": compile_mode if compile else False,
            "fuse_qkv": fuse_qkv,
            "attention": attention,
            "inductor_tuning": inductor_tuning,
            "seconds_per_call": round(seconds_per_call, 4),
            "seconds_per_image": round(seconds_per_call / batch, 4),
            "images_per_second": round(batch / seconds_per_call, 3),
            "peak_memory_mb": round(peak_memory_mb(device), 1),
            "times": [round(t, 4) for t in times],
            "stages": stage_medians,
            "denoise_seconds_per_step": round(stage_medians["denoise"] / steps, 5),
            "achieved_tflops": (
                round(sd21_tflop_per_image(size, steps, guided=guided) * batch / seconds_per_call, 1)
                if arch == "sd21"
                else None
            ),
            "warmup_seconds": round(warmup_seconds, 2),
            "build_seconds": round(build_seconds, 2),
            "torch": torch.__version__,
        }
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def format_table(results: list[dict]) -> str:
    header = (
        f"{'batch':>5} {'s/call':>8} {'s/image':>8} {'img/s':>7} {'denoise':>8} {'decode':>7} "
        f"{'to_pil':>7} {'TFLOP/s':>8} {'peak MB':>9}  device, dtype, compile, attention"
    )
    rows = [header]
    for r in results:
        stages = r["stages"]
        tflops = f"{r['achieved_tflops']:>8.1f}" if r["achieved_tflops"] is not None else f"{'-':>8}"
        rows.append(
            f"{r['batch']:>5} {r['seconds_per_call']:>8.3f} {r['seconds_per_image']:>8.3f} "
            f"{r['images_per_second']:>7.2f} {stages['denoise']:>8.3f} {stages['vae_decode']:>7.3f} "
            f"{stages['to_pil']:>7.3f} {tflops} {r['peak_memory_mb']:>9.0f}  "
            f"{r['device_name']}, {r['dtype']}, {r['compile']}, {r['attention']}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=["tiny", "sd21"], default="sd21")
    parser.add_argument(
        "--preset", default=None, help="sd21, sd21-base or sd-turbo (default: sd21 at 768, sd21-base at 512)"
    )
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=None, help="default: the preset's")
    parser.add_argument("--batch", default="1", help="comma-separated batch sizes, e.g. 1,2,4")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--compile-mode", default=COMPILE_MODE)
    parser.add_argument(
        "--fuse-qkv", action="store_true", help="fused QKV projections (not used in production)"
    )
    parser.add_argument("--attention", choices=ATTENTION_NAMES, default="default")
    parser.add_argument(
        "--inductor-tuning",
        action="store_true",
        help="with --compile: coordinate-descent tuning, no epilogue fusion (longer compiles)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--jsonl-out", type=Path, help="append each batch's result as a JSON line when measured"
    )
    parser.add_argument(
        "--write-pipeline",
        type=Path,
        metavar="DIR",
        help="write a loadable full-size SD 2.1 pipeline (random weights) for --size to DIR, then exit",
    )
    args = parser.parse_args(argv)
    if args.write_pipeline:
        write_sd21_random_pipeline(
            args.write_pipeline, size=args.size, device=args.device, dtype=args.dtype, preset=args.preset
        )
        print(f"wrote a random-weight SD 2.x pipeline ({args.size} px) to {args.write_pipeline}")
        return 0

    def save(result: dict) -> None:
        print(json.dumps(result), file=sys.stderr, flush=True)
        if args.jsonl_out:
            with args.jsonl_out.open("a") as f:
                f.write(json.dumps(result) + "\n")

    results = bench_pipeline(
        arch=args.arch,
        size=args.size,
        steps=args.steps,
        batches=[int(b) for b in args.batch.split(",")],
        device=args.device,
        dtype=args.dtype,
        compile=args.compile,
        compile_mode=args.compile_mode,
        fuse_qkv=args.fuse_qkv,
        attention=args.attention,
        inductor_tuning=args.inductor_tuning,
        repeats=args.repeats,
        warmup=args.warmup,
        on_result=save,
        preset=args.preset,
        guidance_scale=args.guidance,
    )
    print(format_table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
