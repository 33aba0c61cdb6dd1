"""Each model preset generates through the real worker on its tiny model: in this process
(`worker.run`, one engine per preset) and in a real `run_gpu_worker` process (the session's, which
finds the three tiny models through PERSONALIZATION_MODEL, PERSONALIZATION_MODEL_SD21_BASE and
PERSONALIZATION_MODEL_SD_TURBO)."""

import io
import logging
import shutil

import pytest
from PIL import Image

from personalization import limits, presets, worker
from personalization.engine import core
from personalization.engine.metadata import read_parameters
from personalization.models import GenerationRequest, UsageCounter
from personalization.services import generation_request_create
from tests.factories import make_product
from tests.worker_fixtures import wait_until

Status = GenerationRequest.Status
PRESETS = list(presets.BUILT_IN)


@pytest.fixture(autouse=True)
def _fresh_load_failures():
    """Each test starts and ends with no remembered load failure (as after a worker restart)."""
    worker.forget_load_failures()
    yield
    worker.forget_load_failures()


@pytest.fixture
def loads(monkeypatch):
    """{(preset, model): load attempts} of the engine's pipeline loads in this test."""
    counted: dict[tuple[str, str], int] = {}
    original = core.load_pipeline

    def load_pipeline(model, *, preset, **kwargs):
        key = (preset if isinstance(preset, str) else preset.name, str(model))
        counted[key] = counted.get(key, 0) + 1
        return original(model, preset=preset, **kwargs)

    monkeypatch.setattr(core, "load_pipeline", load_pipeline)
    return counted


def models(settings, **changes) -> None:
    """PERSONALIZATION["MODELS"] with these presets' weights changed (sd21_base= for "sd21-base")."""
    changed = {name.replace("_", "-"): str(value) for name, value in changes.items()}
    merged = {**settings.PERSONALIZATION["MODELS"], **changed}
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "MODELS": merged}


def with_quota(settings, daily: int = 5) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": daily, "DAILY_QUOTA_PER_IP": None}


def visitor_count(session_key: str) -> int:
    key = f"quota:visitor:{limits.subject_hash(session_key)}"
    return sum(UsageCounter.objects.filter(key=key).values_list("count", flat=True))


def check_model_unavailable(req: GenerationRequest) -> None:
    req.refresh_from_db()
    assert req.status == Status.FAILED, req.status
    assert req.error_code == "model_unavailable"
    assert req.error_message == worker.MODEL_UNAVAILABLE_MESSAGE
    assert "shop's side" in req.error_message and "not counted" in req.error_message
    assert "Error" not in req.error_message and "Mismatch" not in req.error_message  # no class names
    assert not req.images.exists()
    assert req.quota_charges and all(charge["refunded"] for charge in req.quota_charges)


def product_for(preset_name: str):
    product = make_product()
    product.brand.min_consistency_score = 0  # no off-brand re-seed: one call per request
    product.brand.model_preset = preset_name
    product.brand.save()
    return product


def submit(product, **kw) -> GenerationRequest:
    params = {"base_color": "White", "description": "A lighthouse on a cliff at dawn", "size": 64}
    params.update(kw)
    return generation_request_create(product=product, **params)


def check_succeeded(req: GenerationRequest, preset_name: str, *, size: int, variations: int = 1) -> None:
    preset = presets.get(preset_name)
    assert req.status == Status.SUCCEEDED, (req.error_code, req.error_message)
    assert req.preset == preset_name
    assert req.scheduler_name == preset.scheduler_label
    assert req.steps == preset.default_steps and req.guidance_scale == preset.default_guidance
    assert req.progress_step == req.progress_total == req.steps
    images = list(req.images.order_by("index"))
    assert len(images) == variations
    for image in images:
        assert image.width == image.height == size
        with image.image.open("rb") as fh:
            params = read_parameters(fh.read())
        assert params["steps"] == preset.default_steps
        assert params["guidance_scale"] == preset.default_guidance
        assert params["scheduler"] == preset.scheduler_label
        assert params["sampler"] == {"sd-turbo": "Euler"}.get(preset_name, "DPM++ 2M")


@pytest.mark.django_db
@pytest.mark.parametrize("preset_name", PRESETS)
def test_each_preset_generates_in_process_with_its_own_engine(tiny_model, tiny_models, preset_name):
    req = submit(product_for(preset_name), seed=5, variations=2)
    assert req.status == Status.QUEUED and req.preset == preset_name
    worker.run(req.pk)
    req.refresh_from_db()
    check_succeeded(req, preset_name, size=64, variations=2)
    eng = worker.engine(preset_name)
    assert eng.preset.name == preset_name and eng.model_name == str(tiny_models[preset_name])
    assert eng.scheduler_name == presets.get(preset_name).scheduler_label


@pytest.mark.django_db
def test_the_worker_keeps_one_engine_per_preset(tiny_model):
    engines = {name: worker.engine(name) for name in PRESETS}
    assert len({id(eng) for eng in engines.values()}) == len(PRESETS)
    assert all(worker.engine(name) is eng for name, eng in engines.items())
    assert worker.engine() is engines["sd21"]  # DEFAULT_PRESET


@pytest.mark.django_db
def test_sd_turbo_requests_run_one_step_without_guidance(tiny_model):
    req = submit(product_for("sd-turbo"), seed=9)
    assert (req.steps, req.guidance_scale, req.negative_prompt) == (1, 0.0, "")
    eng = worker.engine("sd-turbo")
    unet_batches = []
    unet = eng.pipeline.unet
    original = unet.forward
    unet.forward = lambda sample, *a, **k: unet_batches.append(sample.shape[0]) or original(sample, *a, **k)
    try:
        worker.run(req.pk)
    finally:
        del unet.forward
    req.refresh_from_db()
    check_succeeded(req, "sd-turbo", size=64)
    assert unet_batches == [1]  # one step, one UNet pass: no classifier-free guidance


@pytest.mark.django_db
def test_a_preset_whose_weights_are_of_another_kind_fails_the_request(
    tiny_model, tiny_models, settings, caplog
):
    """The sd21-base preset pointed at the 768-v (v-prediction) weights: refused at load, and the
    request fails model_unavailable (the shop's side, quota refunded) instead of making noise; the
    log names the real reason and the weights for the operator."""
    models(settings, sd21_base=tiny_models["sd21"])
    with_quota(settings)
    req = submit(product_for("sd21-base"), seed=3, session_key="mismatch")
    assert visitor_count("mismatch") == 1
    with caplog.at_level(logging.ERROR, logger="personalization.worker"):
        assert worker.run(req.pk) == "model_unavailable"
    check_model_unavailable(req)
    assert visitor_count("mismatch") == 0  # the quota was given back
    logged = caplog.text
    assert "ModelPresetMismatch" in logged and str(tiny_models["sd21"]) in logged and "sd21-base" in logged


@pytest.mark.django_db
def test_missing_weights_of_a_preset_fail_only_its_requests(
    tiny_model, tiny_models, settings, tmp_path, loads
):
    """sd21-base's directory does not exist: its requests fail model_unavailable with the quota given
    back, each load tried once per task and then remembered (a queue fails fast), while sd-turbo's
    request in the same run is served; a worker restart with the weights in place recovers."""
    missing = tmp_path / "no-such-model"
    models(settings, sd21_base=missing)
    with_quota(settings)
    base = submit(product_for("sd21-base"), seed=4, session_key="base")
    turbo = submit(product_for("sd-turbo"), seed=4, session_key="turbo")
    assert worker.run(base.pk) == "model_unavailable"
    check_model_unavailable(base)
    assert visitor_count("base") == 0
    assert loads[("sd21-base", str(missing))] == 1  # once in this task, not once per step of it
    assert worker.run(turbo.pk) == "succeeded 1 of 1"
    turbo.refresh_from_db()
    check_succeeded(turbo, "sd-turbo", size=64)
    assert visitor_count("turbo") == 1  # a success keeps its charge

    again = submit(product_for("sd21-base"), seed=5, session_key="base")
    assert worker.run(again.pk) == "model_unavailable"  # fails fast: no new attempt
    check_model_unavailable(again)
    assert loads[("sd21-base", str(missing))] == 1

    shutil.copytree(tiny_models["sd21-base"], missing)  # the shop fixes it, and restarts the worker
    worker.forget_load_failures()
    fixed = submit(product_for("sd21-base"), seed=6)
    worker.run(fixed.pk)
    fixed.refresh_from_db()
    check_succeeded(fixed, "sd21-base", size=64)
    assert loads[("sd21-base", str(missing))] == 2


@pytest.mark.django_db
def test_a_remembered_load_failure_is_tried_again_after_a_while(
    tiny_model, tiny_models, settings, tmp_path, loads, monkeypatch
):
    missing = tmp_path / "later"
    models(settings, sd21_base=missing)
    first = submit(product_for("sd21-base"), seed=7)
    assert worker.run(first.pk) == "model_unavailable"
    shutil.copytree(tiny_models["sd21-base"], missing)  # the weights arrive, no restart
    second = submit(product_for("sd21-base"), seed=8)
    assert worker.run(second.pk) == "model_unavailable"  # within LOAD_RETRY_SECONDS: remembered, not tried
    assert loads[("sd21-base", str(missing))] == 1
    later = worker.load_clock() + worker.LOAD_RETRY_SECONDS + 1
    monkeypatch.setattr(worker, "load_clock", lambda: later)  # the retry window is over
    third = submit(product_for("sd21-base"), seed=9)
    worker.run(third.pk)
    third.refresh_from_db()
    check_succeeded(third, "sd21-base", size=64)
    assert loads[("sd21-base", str(missing))] == 2


@pytest.mark.django_db
def test_missing_weights_of_the_default_preset_block_no_other_preset(
    tiny_model, settings, tmp_path, loads, caplog
):
    """The default preset (sd21) has no weights (e.g. a shop that only configured sd-turbo, offline):
    the worker's preload of it fails loudly but claims on; sd-turbo's requests are served and sd21's
    fail model_unavailable instead of staying queued."""
    missing = tmp_path / "no-sd21"
    models(settings, sd21=missing)
    with_quota(settings)
    turbo = submit(product_for("sd-turbo"), seed=10)
    default = submit(product_for("sd21"), seed=10, session_key="default")
    with caplog.at_level(logging.ERROR, logger="personalization.worker"):
        assert worker.run(turbo.pk) == "succeeded 1 of 1"
    turbo.refresh_from_db()
    check_succeeded(turbo, "sd-turbo", size=64)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical and "DEFAULT preset sd21" in critical[0].getMessage()
    assert str(missing) in critical[0].getMessage()
    default.refresh_from_db()
    assert default.status == Status.QUEUED  # untouched by the other preset's task
    assert worker.run(default.pk) == "model_unavailable"
    check_model_unavailable(default)
    assert visitor_count("default") == 0
    assert loads[("sd21", str(missing))] == 1  # the preload's attempt is remembered by the next task
    another = submit(product_for("sd-turbo"), seed=11)
    assert worker.run(another.pk) == "succeeded 1 of 1"
    assert loads[("sd21", str(missing))] == 1


def test_missing_local_weights_are_warned_about_not_refused(settings, tiny_model, tmp_path):
    assert worker.check_settings() == []  # every tiny model is there
    models(settings, sd_turbo=tmp_path / "gone", sd21_base="stabilityai/stable-diffusion-2-1-base")
    warnings = worker.check_settings()
    assert len(warnings) == 1  # a hub id is not checked: it may be cached or downloaded
    assert "'sd-turbo'" in warnings[0] and str(tmp_path / "gone") in warnings[0]
    assert "model_unavailable" in warnings[0]


@pytest.mark.django_db
def test_warm_up_shapes_are_those_a_preset_can_make(tiny_model, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WARMUP_SHAPES": ["512x512x1", "64x64x2"]}
    assert worker.warmup_shapes() == [(512, 512, 1), (64, 64, 2)]
    assert worker.warmup_shapes("sd21") == [(512, 512, 1), (64, 64, 2)]  # sizes 64, 128, 512 here
    assert worker.warmup_shapes("sd-turbo") == [(64, 64, 2)]  # sizes 64, 128 here
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "WARMUP_SHAPES": [], "COMPILE": True}
    assert worker.warmup_shapes("sd-turbo") == [(64, 64, 1), (128, 128, 1)]


@pytest.mark.django_db
def test_models_for_unknown_presets_are_refused_before_the_worker_starts(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "MODELS": {"sdxl": "/models/sdxl"}}
    with pytest.raises(ImproperlyConfigured, match="unknown preset.*'sdxl'"):
        worker.check_settings()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("preset_name", PRESETS)
def test_each_preset_generates_through_the_real_worker_process(gpu_worker, preset_name):
    req = submit(product_for(preset_name), seed=21, size=128)
    assert req.preset == preset_name

    def finished():
        r = GenerationRequest.objects.get(pk=req.pk)
        return r.is_terminal and r

    r = wait_until(finished, timeout=120, message=f"the {preset_name} request to finish")
    assert r.status == Status.SUCCEEDED, (r.error_code, r.error_message, gpu_worker.output()[-3000:])
    check_succeeded(r, preset_name, size=128)
    with r.images.get().image.open("rb") as fh:
        assert Image.open(io.BytesIO(fh.read())).size == (128, 128)


def test_the_worker_banner_names_each_preset_and_its_model(settings, tiny_model, tiny_models):
    listed = worker.models_in_use()
    assert list(listed) == ["sd21", "sd21-base", "sd-turbo"]  # the default preset first
    assert listed == {name: str(path) for name, path in tiny_models.items()}
