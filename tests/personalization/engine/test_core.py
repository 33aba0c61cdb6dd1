import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn.attention import SDPBackend

from personalization.engine.core import (
    SCHEDULER_NAME,
    Engine,
    EngineAdapterError,
    EngineOutOfMemory,
    GenerationCancelled,
    Job,
    get_engine,
    latents_to_preview,
    to_pil,
    validate_jobs,
)

SIZE, STEPS = 64, 4


def job(prompt="a red fox on a mug", seeds=(1,), **kwargs) -> Job:
    kwargs = {"steps": STEPS, "width": SIZE, "height": SIZE, **kwargs}
    return Job(prompt=prompt, seeds=list(seeds), **kwargs)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def count_unet_calls(engine, monkeypatch) -> list:
    """Wrap this engine's UNet instance (not diffusers) to count its forward passes."""
    unet = engine.pipeline.unet
    calls = []
    original = unet.forward

    def forward(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward)
    return calls


@pytest.fixture(scope="module")
def baseline(engine):
    """Seed 1, batch of one, no LoRA."""
    return engine.generate([job()])[0][0]


def test_engine_metadata_and_lazy_loading(tiny_model):
    engine = Engine(str(tiny_model), device="cpu", dtype="float32")
    assert engine._pipe is None  # nothing loaded until first use
    assert engine.model_name == str(tiny_model)
    assert engine.scheduler_name == SCHEDULER_NAME == "DPMSolverMultistepScheduler (DPM++ 2M)"
    assert engine.device == torch.device("cpu") and engine.dtype == torch.float32


def test_get_engine_caches_per_arguments(tiny_model):
    first = get_engine(str(tiny_model), device="cpu", dtype="float32")
    assert get_engine(str(tiny_model), dtype="float32", device="cpu") is first
    assert get_engine(str(tiny_model), device="cpu", dtype="bfloat16") is not first
    assert get_engine(str(tiny_model), device="cpu", dtype="float32", attention="default") is first
    assert get_engine(str(tiny_model), device="cpu", dtype="float32", attention="math") is not first
    with pytest.raises(ValueError, match="attention backend"):
        get_engine(str(tiny_model), attention="xformers")


def test_img2img_pipeline_shares_weights_and_keeps_dtype(tiny_model):
    engine = Engine(str(tiny_model), device="cpu", dtype="bfloat16")
    pipe = engine.pipeline
    assert engine._img2img.unet is pipe.unet and engine._img2img.vae is pipe.vae
    assert pipe.unet.dtype == pipe.vae.dtype == torch.bfloat16  # from_pipe would cast to float32


def test_generate_returns_one_image_per_seed_per_job(engine):
    images = engine.generate([job(seeds=(1, 2)), job(prompt="a cat", seeds=(3,))])
    assert [len(group) for group in images] == [2, 1]
    assert all(image.size == (SIZE, SIZE) and image.mode == "RGB" for group in images for image in group)


def test_same_seed_same_image_and_different_seeds_differ(engine, baseline):
    again = engine.generate([job()])[0][0]
    other = engine.generate([job(seeds=(2,))])[0][0]
    assert np.array_equal(pixels(again), pixels(baseline))
    assert np.abs(pixels(other) - pixels(baseline)).mean() > 5


def test_batched_jobs_equal_unbatched_runs(engine):
    jobs = [job(prompt="a fox", seeds=(1, 2)), job(prompt="a cat", negative_prompt="blurry", seeds=(7,))]
    batched = engine.generate(jobs)
    for single_job, group in zip(jobs, batched, strict=True):
        for seed, image in zip(single_job.seeds, group, strict=True):
            alone = engine.generate(
                [job(single_job.prompt, (seed,), negative_prompt=single_job.negative_prompt)]
            )
            assert np.abs(pixels(image) - pixels(alone[0][0])).max() <= 2  # float rounding only


def test_on_step_reports_every_step_with_latents(engine):
    seen = []
    engine.generate(
        [job(seeds=(1, 2))], on_step=lambda done, total, latents: seen.append((done, total, latents))
    )
    assert [(done, total) for done, total, _ in seen] == [(i, STEPS) for i in range(1, STEPS + 1)]
    assert all(latents.shape == (2, 4, SIZE // 8, SIZE // 8) for _, _, latents in seen)


def test_cancel_from_on_step_stops_at_that_step(engine, monkeypatch):
    calls = count_unet_calls(engine, monkeypatch)

    def cancel(done, total, latents):
        if done == 2:
            raise GenerationCancelled("user cancelled")

    with pytest.raises(GenerationCancelled):
        engine.generate([job(steps=10)], on_step=cancel)
    assert len(calls) == 2  # one UNet pass per step (CFG runs both halves in one batch)


def test_img2img_uses_the_reference_and_strength(engine, baseline):
    reference = Image.new("RGB", (2 * SIZE, SIZE), (200, 40, 40))  # resized to the job's size
    seen = []
    light = engine.generate(
        [job(steps=8, reference_image=reference, strength=0.25)],
        on_step=lambda done, total, latents: seen.append((done, total)),
    )[0][0]
    strong = engine.generate([job(steps=8, reference_image=reference, strength=1.0)])[0][0]
    assert seen == [(1, 2), (2, 2)]  # int(8 * 0.25) denoising steps
    assert light.size == (SIZE, SIZE)
    target = pixels(reference.resize((SIZE, SIZE)))
    assert np.abs(pixels(light) - target).mean() < np.abs(pixels(strong) - target).mean()
    assert np.abs(pixels(light) - pixels(strong)).mean() > 1


def lora_layers(engine) -> list[str]:
    """Names of the LoRA (peft) layers in the UNet and the text encoder."""
    pipe = engine.pipeline
    modules = [*pipe.unet.named_modules(), *pipe.text_encoder.named_modules()]
    return [name for name, module in modules if name.endswith("lora_A") or "lora_" in type(module).__name__]


def count_lora_loads(engine, monkeypatch) -> list:
    pipe = engine.pipeline
    loads, original = [], pipe.load_lora_weights
    monkeypatch.setattr(pipe, "load_lora_weights", lambda *a, **k: loads.append(a[0]) or original(*a, **k))
    return loads


def test_lora_changes_the_image_and_is_unloaded_for_the_next_job_without_it(
    engine, baseline, tiny_lora, monkeypatch
):
    loads = count_lora_loads(engine, monkeypatch)
    with_lora = engine.generate([job(lora_path=str(tiny_lora), lora_scale=1.0)])[0][0]
    assert np.abs(pixels(with_lora) - pixels(baseline)).mean() > 5
    assert engine.loaded_lora is not None and lora_layers(engine)

    half = engine.generate([job(lora_path=str(tiny_lora), lora_scale=0.5)])[0][0]
    assert not np.array_equal(pixels(half), pixels(with_lora))
    again = engine.generate([job(lora_path=str(tiny_lora), lora_scale=1.0)])[0][0]
    assert np.array_equal(pixels(again), pixels(with_lora))
    assert loads == [str(tiny_lora)]  # back-to-back jobs of one brand load it once

    after = engine.generate([job()])[0][0]
    assert engine.loaded_lora is None
    assert lora_layers(engine) == []  # unloaded: the base modules are back, not LoRA layers switched off
    assert np.array_equal(pixels(after), pixels(baseline))

    engine.generate([job(lora_path=str(tiny_lora), lora_scale=1.0)])
    assert loads == [str(tiny_lora)] * 2  # loaded again for the brand's next request


def test_another_brands_lora_replaces_the_loaded_one(engine, baseline, tiny_model, tiny_lora, tmp_path):
    from personalization.engine.tiny import build_tiny_lora

    other = build_tiny_lora(tiny_model, tmp_path / "other.safetensors", seed=7)
    first = engine.generate([job(lora_path=str(tiny_lora))])[0][0]
    second = engine.generate([job(lora_path=str(other))])[0][0]
    assert engine.pipeline.unet.peft_config.keys() == {engine.loaded_lora}  # one adapter at a time
    assert np.abs(pixels(second) - pixels(first)).mean() > 1
    assert np.array_equal(pixels(engine.generate([job()])[0][0]), pixels(baseline))


@pytest.mark.parametrize("damage", ["wrong_shape", "not_safetensors"])
def test_a_broken_lora_file_fails_its_job_and_leaves_the_base_model_intact(
    engine, baseline, tiny_lora, tmp_path, damage
):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken.safetensors"
    if damage == "wrong_shape":  # a LoRA for another model: loads until one tensor does not fit
        weights = load_file(tiny_lora)
        key = sorted(k for k in weights if "lora_B" in k or "lora.up" in k)[-1]
        weights[key] = torch.randn(weights[key].shape[0] + 3, weights[key].shape[1])
        save_file(weights, broken)
    else:
        broken.write_bytes(b"not a safetensors file" * 10)
    with pytest.raises(EngineAdapterError, match="the LoRA broken.safetensors could not be loaded"):
        engine.generate([job(lora_path=str(broken))])
    assert engine.loaded_lora is None and lora_layers(engine) == []
    assert np.array_equal(pixels(engine.generate([job()])[0][0]), pixels(baseline))


def test_a_failed_lora_run_is_unloaded_by_the_next_base_job(engine, baseline, tiny_lora):
    def cancel(done, total, latents):
        raise GenerationCancelled

    with pytest.raises(GenerationCancelled):
        engine.generate([job(lora_path=str(tiny_lora))], on_step=cancel)
    assert np.array_equal(pixels(engine.generate([job()])[0][0]), pixels(baseline))
    assert lora_layers(engine) == []


def test_out_of_memory_becomes_engine_out_of_memory_and_the_next_call_works(engine, baseline, monkeypatch):
    unet = engine.pipeline.unet
    original = unet.forward
    failures = []

    def forward(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return original(*args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward)
    with pytest.raises(EngineOutOfMemory):
        engine.generate([job()])
    assert np.array_equal(pixels(engine.generate([job()])[0][0]), pixels(baseline))


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ([], "no jobs"),
        ([job(seeds=())], "seeds"),
        ([job(seeds=(-1,))], "seeds"),
        ([job(width=100)], "multiples of 8"),
        ([job(height=4096)], "multiples of 8"),
        ([job(steps=0)], "steps"),
        ([job(steps=151)], "steps"),
        ([job(guidance_scale=31)], "guidance"),
        ([job(strength=0)], "strength"),
        ([job(strength=1.5)], "strength"),
        ([job(steps=2, strength=0.2, reference_image=Image.new("RGB", (8, 8)))], "steps \\* strength"),
        ([job(lora_path="/nonexistent/brand.safetensors")], "LoRA file not found"),
        ([job(), job(width=128)], "share"),
        ([job(), job(steps=5)], "share"),
        ([job(), job(guidance_scale=3)], "share"),
        ([job(reference_image=Image.new("RGB", (8, 8))), job()], "reference image"),
    ],
)
def test_bad_input_raises_value_error_before_running(jobs, message, engine, monkeypatch):
    calls = count_unet_calls(engine, monkeypatch)
    with pytest.raises(ValueError, match=message):
        engine.generate(jobs)
    assert calls == []


def test_validate_jobs_accepts_compatible_batches():
    validate_jobs([job(seeds=(1, 2)), job(prompt="other", negative_prompt="x", seeds=(3,))])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_to_pil_gives_the_same_pixels_as_diffusers_postprocess(dtype):
    from diffusers.image_processor import VaeImageProcessor

    generator = torch.Generator().manual_seed(0)
    image = (torch.randn(3, 3, 40, 24, generator=generator) * 0.8).to(dtype)
    image[0, :, 0, :3] = torch.tensor([-1.5, 1.5, 0.0], dtype=dtype)  # clipped and the middle
    ours = to_pil(image)
    theirs = VaeImageProcessor(vae_scale_factor=8).postprocess(image, output_type="pil")
    assert [im.size for im in ours] == [(24, 40)] * 3 and ours[0].mode == "RGB"
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(pixels(a), pixels(b))


def test_to_pil_takes_channels_last_images_and_leaves_them_unchanged():
    image = torch.linspace(-1, 1, 2 * 3 * 8 * 8).reshape(2, 3, 8, 8)
    channels_last = image.contiguous(memory_format=torch.channels_last)  # as the CUDA VAE returns it
    before = channels_last.clone()
    assert [pixels(a).tolist() for a in to_pil(channels_last)] == [pixels(a).tolist() for a in to_pil(image)]
    assert torch.equal(channels_last, before)


def test_attention_backend_is_in_force_while_the_unet_runs(engine, baseline, tiny_model, monkeypatch):
    math_engine = Engine(str(tiny_model), device="cpu", dtype="float32", attention="math")
    unet = math_engine.pipeline.unet
    seen, original = [], unet.forward

    def forward(*args, **kwargs):
        seen.append(torch._C._get_sdp_priority_order())
        return original(*args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward)
    default_order = torch._C._get_sdp_priority_order()
    image = math_engine.generate([job()])[0][0]
    assert seen and all(order[0] == int(SDPBackend.MATH) for order in seen)
    assert default_order[0] != int(SDPBackend.MATH)
    assert torch._C._get_sdp_priority_order() == default_order  # restored after the call
    assert np.abs(pixels(image) - pixels(baseline)).max() <= 2  # same maths, other kernel


def test_engine_rejects_unknown_attention_and_compile_mode(tiny_model):
    with pytest.raises(ValueError, match="attention backend"):
        Engine(str(tiny_model), attention="xformers")
    with pytest.raises(ValueError, match="compile mode"):
        Engine(str(tiny_model), compile=True, compile_mode="fastest")


def test_warm_up_runs_every_shape_before_any_request(engine, monkeypatch):
    calls = []
    unet = engine.pipeline.unet
    original = unet.forward

    def forward(sample, *args, **kwargs):
        calls.append(tuple(sample.shape))
        return original(sample, *args, **kwargs)

    monkeypatch.setattr(unet, "forward", forward)
    monkeypatch.setattr(engine, "_warmed", set())
    assert engine.warm_up([(64, 64, 1), (64, 96, 2)], steps=2, rounds=2) == [(64, 64, 1), (64, 96, 2)]
    # CFG: the UNet sees 2 x images; 2 steps x 2 rounds per shape.
    assert calls == [(2, 4, 8, 8)] * 4 + [(4, 4, 12, 8)] * 4
    assert engine.warm_up([(64, 96, 2)], steps=2, rounds=2) == []  # warmed shapes are not run again
    assert len(calls) == 8


def test_latents_to_preview_is_a_cheap_rgb_picture():
    latents = torch.zeros(2, 4, 16, 12)
    latents[:, 0] = 1.0  # channel 0 is mostly "bright"
    previews = latents_to_preview(latents, size=128)
    assert len(previews) == 2
    assert previews[0].size == (96, 128) and previews[0].mode == "RGB"
    r, g, b = previews[0].getpixel((10, 10))
    assert r > 127 and g > 127 and b > 127
