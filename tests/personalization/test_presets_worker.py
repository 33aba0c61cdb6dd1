"""Each model preset generates through the real worker on its tiny model: in this process
(`worker.run`, one engine per preset) and in a real `run_gpu_worker` process (the session's, which
finds the three tiny models through PERSONALIZATION_MODEL, PERSONALIZATION_MODEL_SD21_BASE and
PERSONALIZATION_MODEL_SD_TURBO)."""

import io

import pytest
from PIL import Image

from personalization import presets, worker
from personalization.engine.metadata import read_parameters
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_product
from tests.worker_fixtures import wait_until

Status = GenerationRequest.Status
PRESETS = list(presets.BUILT_IN)


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
def test_a_preset_whose_weights_are_of_another_kind_fails_the_request(tiny_model, tiny_models, settings):
    """The sd21-base preset pointed at the 768-v (v-prediction) weights: refused at load, and the
    request fails with a message instead of making noise."""
    models = {**settings.PERSONALIZATION["MODELS"], "sd21-base": str(tiny_models["sd21"])}
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "MODELS": models}
    req = submit(product_for("sd21-base"), seed=3)
    worker.run(req.pk)
    req.refresh_from_db()
    assert req.status == Status.FAILED and req.error_code == "generation_error"
    assert "ModelPresetMismatch" in req.error_message
    assert not req.images.exists()


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
