"""The model presets on the engine side: each preset's tiny model (engine/tiny.py) loads through the
same `load_pipeline` as real weights with the preset's scheduler and prediction type, weights of
another kind are refused, SD-Turbo runs one step without classifier-free guidance, and
`bench_generation --preset` prints one block per preset."""

import json

import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler
from django.core.management import CommandError, call_command

from personalization.engine import loading
from personalization.engine.bench import bench_pipeline, build_sd21_random_pipeline
from personalization.engine.core import Engine, Job, get_engine
from personalization.engine.loading import ModelPresetMismatch, load_pipeline, make_scheduler
from personalization.engine.tiny import build_tiny_pipeline
from personalization.presets import BUILT_IN

EXPECTED = {
    # preset: scheduler class, prediction type, UNet sample_size (native size / 8)
    "sd21": (DPMSolverMultistepScheduler, "v_prediction", 96),
    "sd21-base": (DPMSolverMultistepScheduler, "epsilon", 64),
    "sd-turbo": (EulerDiscreteScheduler, "epsilon", 64),
}


@pytest.fixture(scope="session")
def preset_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("preset_models")
    return {name: build_tiny_pipeline(base / f"tiny-{name}", preset=name) for name in BUILT_IN}


def test_every_preset_has_a_tiny_layout():
    assert set(EXPECTED) == set(BUILT_IN)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_presets_tiny_model_loads_with_its_scheduler_and_prediction_type(preset_models, name):
    scheduler_class, prediction_type, sample_size = EXPECTED[name]
    pipe = load_pipeline(str(preset_models[name]), device="cpu", dtype="float32", preset=name)
    assert type(pipe.scheduler) is scheduler_class
    assert pipe.scheduler.config.prediction_type == prediction_type == BUILT_IN[name].prediction_type
    assert pipe.unet.config.sample_size == sample_size
    assert pipe.unet.config.upcast_attention is (name == "sd21")
    if scheduler_class is DPMSolverMultistepScheduler:
        assert pipe.scheduler.config.algorithm_type == "dpmsolver++"
        assert pipe.scheduler.config.solver_order == 2
    else:  # SD-Turbo's model card: Euler, trailing timesteps, so one step starts at t=999
        assert pipe.scheduler.config.timestep_spacing == "trailing"
        pipe.scheduler.set_timesteps(1)
        assert pipe.scheduler.timesteps.tolist() == [999]
    # The model's own betas are kept (SD 2.1's scaled_linear 0.00085..0.012).
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    assert pipe.scheduler.config.beta_end == 0.012


@pytest.mark.parametrize(
    ("model", "preset"),
    [("sd21", "sd21-base"), ("sd21", "sd-turbo"), ("sd21-base", "sd21"), ("sd-turbo", "sd21")],
)
def test_weights_of_another_prediction_type_are_refused_before_loading(
    preset_models, monkeypatch, model, preset
):
    def no_weights(*args, **kwargs):
        raise AssertionError("the weights were loaded before the check")

    monkeypatch.setattr(loading.StableDiffusionPipeline, "from_pretrained", no_weights)
    with pytest.raises(ModelPresetMismatch) as caught:
        load_pipeline(str(preset_models[model]), device="cpu", dtype="float32", preset=preset)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert str(preset_models[model]) in message and repr(preset) in message
    assert BUILT_IN[model].prediction_type in message and BUILT_IN[preset].prediction_type in message


def test_make_scheduler_refuses_a_config_of_another_prediction_type():
    v_config = {"prediction_type": "v_prediction", "num_train_timesteps": 1000}
    assert type(make_scheduler(v_config, "sd21")) is DPMSolverMultistepScheduler
    with pytest.raises(ModelPresetMismatch, match="sd21-base"):
        make_scheduler(v_config, "sd21-base")
    # A config without a prediction_type is epsilon, diffusers' default.
    assert type(make_scheduler({"num_train_timesteps": 1000}, "sd-turbo")) is EulerDiscreteScheduler
    with pytest.raises(ModelPresetMismatch):
        make_scheduler({"num_train_timesteps": 1000}, "sd21")
    with pytest.raises(ValueError, match="unknown model preset"):
        make_scheduler(v_config, "sdxl")


def test_an_epsilon_model_may_run_as_either_epsilon_preset(preset_models):
    """SD-Turbo is distilled from SD 2.1-base: the same kind of weights, another scheduler."""
    pipe = load_pipeline(str(preset_models["sd21-base"]), device="cpu", dtype="float32", preset="sd-turbo")
    assert type(pipe.scheduler) is EulerDiscreteScheduler


def count_unet_batches(engine: Engine) -> list[int]:
    """Record the batch size of every UNet call from now on."""
    unet = engine.pipeline.unet
    calls, original = [], unet.forward

    def forward(sample, *args, **kwargs):
        calls.append(sample.shape[0])
        return original(sample, *args, **kwargs)

    unet.forward = forward
    return calls


def test_sd_turbo_runs_one_step_without_guidance_and_yields_an_image(preset_models):
    engine = Engine(str(preset_models["sd-turbo"]), preset="sd-turbo", device="cpu", dtype="float32")
    assert engine.scheduler_name == BUILT_IN["sd-turbo"].scheduler_label
    calls = count_unet_batches(engine)
    encoded = []
    text_encoder = engine.pipeline.text_encoder
    original = text_encoder.forward
    text_encoder.forward = lambda ids, *a, **k: encoded.append(ids.shape[0]) or original(ids, *a, **k)
    steps = []
    job = Job(prompt="a red fox on a mug", seeds=[3, 4], steps=1, guidance_scale=0.0, width=64, height=64)
    [[first, second]] = engine.generate(
        [job], on_step=lambda done, total, latents: steps.append((done, total))
    )
    assert first.size == second.size == (64, 64) and first.mode == "RGB"
    assert first.tobytes() != second.tobytes()  # two seeds, two pictures
    assert steps == [(1, 1)]
    assert calls == [2]  # one UNet pass for the two images: no classifier-free guidance
    assert encoded == [2]  # the prompts only: no negative prompt encoded


def test_with_guidance_each_step_runs_both_halves(preset_models):
    engine = Engine(str(preset_models["sd21-base"]), preset="sd21-base", device="cpu", dtype="float32")
    calls = count_unet_batches(engine)
    engine.generate([Job(prompt="a gull", seeds=[1], steps=2, guidance_scale=7.5, width=64, height=64)])
    assert calls == [2, 2]  # unconditional + conditional, per step


def test_the_same_seed_gives_the_same_sd_turbo_image(preset_models):
    engine = Engine(str(preset_models["sd-turbo"]), preset="sd-turbo", device="cpu", dtype="float32")
    job = Job(prompt="a lighthouse", seeds=[11], steps=1, guidance_scale=0.0, width=64, height=64)
    [[a]] = engine.generate([job])
    [[b]] = engine.generate([job])
    assert a.tobytes() == b.tobytes()


def test_get_engine_keeps_one_engine_per_model_and_preset(preset_models):
    model = str(preset_models["sd21-base"])
    base = get_engine(model, preset="sd21-base", device="cpu", dtype="float32")
    assert get_engine(model, preset="sd21-base", device="cpu", dtype="float32") is base
    turbo = get_engine(model, preset="sd-turbo", device="cpu", dtype="float32")
    assert turbo is not base and turbo.key != base.key
    assert (base.preset.name, turbo.preset.name) == ("sd21-base", "sd-turbo")
    assert base.scheduler_name == BUILT_IN["sd21-base"].scheduler_label
    assert turbo.scheduler_name == BUILT_IN["sd-turbo"].scheduler_label
    with pytest.raises(ValueError, match="unknown model preset"):
        get_engine(model, preset="sdxl")


def test_an_engine_on_weights_of_another_kind_fails_on_first_use(preset_models):
    engine = Engine(str(preset_models["sd21"]), preset="sd21-base", device="cpu", dtype="float32")
    with pytest.raises(ModelPresetMismatch):
        engine.generate([Job(prompt="a fox", steps=1, width=64, height=64)])


def test_warm_up_uses_the_presets_guidance_and_steps(preset_models, monkeypatch):
    """SD-Turbo's warm-up runs what its requests run (one UNet pass per image, at most 4 steps), so a
    CUDA graph is recorded for the shapes that will be used."""
    engine = Engine(str(preset_models["sd-turbo"]), preset="sd-turbo", device="cpu", dtype="float32")
    seen = []
    generate = engine.generate

    def recording_generate(jobs, **kwargs):  # the real tiny pipeline runs; the jobs are recorded
        seen.extend(jobs)
        return generate(jobs, **kwargs)

    monkeypatch.setattr(engine, "generate", recording_generate)
    engine.warm_up([(64, 64, 2)], steps=10, rounds=1)
    [job] = seen
    assert (job.guidance_scale, job.steps, len(job.seeds)) == (0.0, 4, 2)


def test_build_tiny_pipeline_refuses_an_unknown_preset(tmp_path):
    with pytest.raises(ValueError, match="unknown model preset 'sdxl'"):
        build_tiny_pipeline(tmp_path / "x", preset="sdxl")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_full_size_random_pipelines_follow_the_preset(name):
    """The GPU benchmark's full-size architecture, configured per preset (built on the meta device:
    no weights are allocated)."""
    size = BUILT_IN[name].native_size
    pipe = build_sd21_random_pipeline(
        device=torch.device("meta"), dtype=torch.float32, size=size, preset=name
    )
    scheduler_class, prediction_type, sample_size = EXPECTED[name]
    assert type(pipe.scheduler) is scheduler_class
    assert pipe.scheduler.config.prediction_type == prediction_type
    assert pipe.unet.config.sample_size == sample_size


def test_bench_pipeline_runs_sd_turbo_without_guidance():
    [result] = bench_pipeline(
        arch="tiny",
        preset="sd-turbo",
        size=64,
        steps=1,
        batches=[1],
        device="cpu",
        dtype="float32",
        repeats=1,
        warmup=0,
    )
    assert result["preset"] == "sd-turbo" and result["guidance_scale"] == 0.0 and result["steps"] == 1
    assert result["scheduler"] == BUILT_IN["sd-turbo"].scheduler_label


def test_bench_command_prints_one_block_per_preset(capsys):
    call_command(
        "bench_generation",
        "--preset",
        "sd21,sd21-base,sd-turbo",
        "--size",
        "64",
        "--steps",
        "2",
        "--batch",
        "1",
        "--repeats",
        "1",
        "--device",
        "cpu",
        "--dtype",
        "float32",
    )
    lines = capsys.readouterr().out.strip().splitlines()
    headings = [line for line in lines if line.startswith("== preset ")]
    assert [h.split()[2].rstrip(":") for h in headings] == ["sd21", "sd21-base", "sd-turbo"]
    assert "Euler" in headings[2] and "guidance 0" in headings[2] and "guidance 7.5" in headings[0]
    tables = [lines[lines.index(h) + 1] for h in headings]
    assert all(t.split()[:3] == ["batch", "s/call", "s/image"] for t in tables)
    data = json.loads(lines[-1])
    assert list(data["presets"]) == ["sd21", "sd21-base", "sd-turbo"]
    assert [r["guidance_scale"] for r in data["results"]] == [7.5, 7.5, 0.0]
    assert {r["steps"] for r in data["results"]} == {2} and {r["size"] for r in data["results"]} == {64}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "sdxl"], "unknown preset"),
        (["--preset", "sd-turbo", "--steps", "20"], "outside preset sd-turbo's 1..4"),
        (["--preset", "sd-turbo", "--guidance", "7.5"], "outside preset sd-turbo's 0..0"),
        (["--preset", "sd21", "--size", "100"], "multiples of 8"),
        (["--arch", "sd21", "--preset", "sd21", "--size", "64"], "512 or 768"),
    ],
)
def test_bench_command_refuses_settings_outside_a_preset(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench_generation", *argv, "--device", "cpu")


def test_build_tiny_pipeline_command_takes_a_preset(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("build_tiny_pipeline", "--preset", "sd-turbo")
    written = tmp_path / "models" / "tiny-sd-turbo"
    assert (written / "model_index.json").is_file()
    assert "sd-turbo" in capsys.readouterr().out
    pipe = load_pipeline(str(written), device="cpu", dtype="float32", preset="sd-turbo")
    assert type(pipe.scheduler) is EulerDiscreteScheduler
    # The positional directory still works (the preset defaults to sd21).
    call_command("build_tiny_pipeline", str(tmp_path / "mine"))
    config = json.loads((tmp_path / "mine" / "scheduler" / "scheduler_config.json").read_text())
    assert config["prediction_type"] == "v_prediction"


def test_png_metadata_names_each_presets_sampler_as_a1111_does():
    from personalization.engine.metadata import sampler_name

    assert sampler_name(BUILT_IN["sd21"].scheduler_label) == "DPM++ 2M"
    assert sampler_name(BUILT_IN["sd21-base"].scheduler_label) == "DPM++ 2M"
    assert sampler_name(BUILT_IN["sd-turbo"].scheduler_label) == "Euler"
