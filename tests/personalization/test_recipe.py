"""The Recipe (personalization/recipe.py): one frozen value for a generation, built and validated once
against the model preset (personalization/presets.py), then read by the submit service (the row's
columns, the result-cache key), the worker (the engine Job, the PNG metadata), the batching and the
frozen order line."""

import dataclasses
import importlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import Q
from PIL import Image

from brand_guides.models import Brand
from personalization import lifecycle, presets, recipe, worker
from personalization.engine import rules
from personalization.engine.metadata import png_bytes, read_parameters
from personalization.models import GenerationRequest, LineDesign
from personalization.recipe import Recipe, RecipeInvalid, build
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product, png
from tests.foundation_helpers import make_generation_image, make_order, make_succeeded_generation

Status = GenerationRequest.Status
LORA = "brands/lora/house-style.safetensors"
TURBO = presets.BUILT_IN["sd-turbo"]


def fields_of(error: RecipeInvalid) -> dict:
    return dict(error.errors)


# --- build(): each preset's ranges, defaults and capabilities ------------------------------------


@pytest.mark.parametrize("name", list(presets.BUILT_IN))
def test_build_takes_each_presets_defaults(name):
    preset = presets.BUILT_IN[name]
    made = build(preset=name, prompt="a red fox", negative_prompt="blurry", seed=7)
    assert (made.preset, made.steps, made.guidance_scale) == (
        name,
        preset.default_steps,
        preset.default_guidance,
    )
    assert (made.width, made.height) == (preset.default_size, preset.default_size)
    assert made.scheduler == preset.scheduler_label
    assert made.model == presets.model_for(name)
    assert made.seeds == (7,) and made.strength is None and not made.is_img2img
    # SD-Turbo runs without classifier-free guidance: it has no negative prompt to keep.
    assert made.negative_prompt == ("blurry" if preset.negative_prompt else "")


@pytest.mark.parametrize("name", list(presets.BUILT_IN))
def test_build_accepts_the_edges_of_each_presets_ranges(name):
    preset = presets.BUILT_IN[name]
    for steps, guidance, size in (
        (preset.min_steps, preset.min_guidance, min(preset.sizes)),
        (preset.max_steps, preset.max_guidance, max(preset.sizes)),
    ):
        made = build(
            preset=name, prompt="x", steps=steps, guidance_scale=guidance, size=size, variations=4, seed=0
        )
        assert (made.steps, made.guidance_scale, made.width, made.variations) == (steps, guidance, size, 4)


def test_sd_turbo_refuses_guidance_more_steps_and_768_px_in_clear_words():
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd-turbo", prompt="a fox", guidance_scale=7.5, steps=8, size=768)
    assert fields_of(caught.value) == {
        "guidance_scale": "Guidance must be 0 with this model.",
        "steps": "Steps must be between 1 and 4.",
        "size": "Size must be 512 with this model.",
    }


def test_a_size_between_a_presets_sizes_names_the_sizes():
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="a fox", size=640)
    assert fields_of(caught.value) == {
        "size": "Size must be one of 512, 768 with Stable Diffusion 2.1 (768-v)."
    }


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"steps": "many"}, "steps", "Enter a number for steps."),
        ({"steps": True}, "steps", "Enter a number for steps."),
        ({"steps": 2.5}, "steps", "Steps must be a whole number."),
        ({"steps": [3]}, "steps", "Enter a number for steps."),
        ({"guidance_scale": {"a": 1}}, "guidance_scale", "Enter a number for guidance."),
        ({"guidance_scale": "nan"}, "guidance_scale", "Guidance must be a finite number."),
        ({"guidance_scale": "1e400"}, "guidance_scale", "Guidance must be a finite number."),
        ({"seed": object()}, "seed", "Enter a number for seed."),
        ({"seed": -1}, "seed", f"Seed must be between 0 and {recipe.MAX_SEED}."),
        ({"variations": 5}, "variations", "Variations must be between 1 and 4."),
        ({"size": "large"}, "size", "Enter a number for size."),
        ({"strength": 0.01}, "strength", "Strength must be between 0.05 and 1."),
    ],
)
def test_values_of_the_wrong_type_or_range_are_field_errors(values, field, message):
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="a fox", **values)
    assert fields_of(caught.value) == {field: message}


def test_numbers_may_come_as_strings_and_blank_means_the_default():
    made = build(
        preset="sd21", prompt="x", steps="30", guidance_scale="6.5", size="512", seed="9", variations=""
    )
    assert (made.steps, made.guidance_scale, made.width, made.seed, made.variations) == (30, 6.5, 512, 9, 1)


def test_img2img_steps_times_strength_must_leave_a_step():
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="x", steps=1, strength=0.6, reference_png=png(), reference_sha256="ab")
    assert fields_of(caught.value) == {
        "steps": "With a reference image, steps × strength must be at least 1 (1 × 0.6 leaves no step to "
        "run): use at least 2 steps, or a strength of at least 1."
    }
    # Without a reference the same values are fine, and the strength is not part of the recipe.
    assert build(preset="sd21", prompt="x", steps=1, strength=0.6).strength is None


def test_sd_turbo_img2img_defaults_to_enough_steps_for_its_strength():
    made = build(preset="sd-turbo", prompt="x", reference_png=png(), reference_sha256="ab")
    assert made.is_img2img and made.strength == TURBO.default_strength == 0.5
    assert made.steps == 2  # its model card's img2img: 2 steps at 0.5 (the text default is 1)
    assert int(made.steps * made.strength) >= 1


def test_a_preset_without_img2img_refuses_a_reference_image():
    no_img2img = dataclasses.replace(TURBO, img2img=False)
    with pytest.raises(RecipeInvalid) as caught:
        build(preset=no_img2img, prompt="x", reference_png=png(), reference_sha256="ab")
    assert fields_of(caught.value) == {"reference_image": f"{TURBO.label} does not take a reference image."}


def test_a_brand_lora_with_sd_turbo_is_refused():
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd-turbo", prompt="x", lora=LORA)
    assert fields_of(caught.value) == {
        "product": f"This product's brand style (LoRA) cannot be used with {TURBO.label}: the shop must "
        "choose another model preset."
    }
    assert build(preset="sd21", prompt="x", lora=LORA, lora_scale=0.7).lora == LORA


def test_a_missing_lora_file_is_refused_at_build():
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="x", lora=LORA, lora_exists=lambda name: False)
    assert "style file is missing" in fields_of(caught.value)["product"]


def test_every_engine_rule_has_an_entry():
    assert set(recipe.ENGINE_RULE_ERRORS) == {rule.name for rule in rules.JOB_RULES}


def test_preset_overrides_narrow_a_preset(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "PRESET_OVERRIDES": {"sd21": {"sizes": (512,), "max_steps": 30, "default_steps": 20}},
    }
    made = build(preset="sd21", prompt="x")
    assert (made.width, made.steps) == (512, 20)
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="x", steps=31)
    assert fields_of(caught.value) == {"steps": "Steps must be between 1 and 30."}


# --- the value itself -------------------------------------------------------------------------------


def full_recipe(**changes) -> Recipe:
    """A recipe where every field decides something: img2img with a LoRA."""
    values = {
        "preset": "sd21",
        "model": "stabilityai/stable-diffusion-2-1",
        "prompt": "a red fox, t-shirt print",
        "negative_prompt": "blurry",
        "seed": 11,
        "variations": 2,
        "steps": 20,
        "guidance_scale": 7.5,
        "width": 768,
        "height": 768,
        "strength": 0.6,
        "reference_sha256": "a" * 64,
        "lora": LORA,
        "lora_scale": 0.8,
    }
    return Recipe(**{**values, **changes})


def test_as_dict_and_from_dict_round_trip_through_json():
    original = full_recipe()
    data = json.loads(json.dumps(original.as_dict()))
    assert data["scheduler"] == presets.BUILT_IN["sd21"].scheduler_label
    assert Recipe.from_dict(data) == original
    text_only = build(preset="sd-turbo", prompt="x", seed=3)
    assert Recipe.from_dict(json.loads(json.dumps(text_only.as_dict()))) == text_only


OTHER_VALUES = {
    "preset": "sd21-base",
    "model": "/models/other",
    "prompt": "a blue fox",
    "negative_prompt": "",
    "seed": 12,
    "variations": 3,
    "steps": 21,
    "guidance_scale": 7.0,
    "width": 512,
    "height": 512,
    "strength": 0.7,
    "reference_sha256": "b" * 64,
    "lora": "brands/lora/other.safetensors",
    "lora_scale": 0.9,
    "reference_fit": "contain",
}


def test_the_cache_key_changes_with_each_field_and_the_context():
    assert set(OTHER_VALUES) == {f.name for f in dataclasses.fields(Recipe)}  # every field is tried
    base = full_recipe()
    key = base.cache_key("product-1", "#ffffff")
    assert key == full_recipe().cache_key("product-1", "#ffffff")
    for name, value in OTHER_VALUES.items():
        assert full_recipe(**{name: value}).cache_key("product-1", "#ffffff") != key, name
    assert base.cache_key("product-2", "#ffffff") != key
    assert base.cache_key("product-1", "#000000") != key


def test_the_job_and_png_parameters_come_from_the_recipe():
    made = full_recipe()
    job = made.job(reference_image=Image.new("RGB", (8, 8)), lora_path="/tmp/x.safetensors", seeds=[5])
    assert (job.seeds, job.steps, job.strength, job.lora_path, job.lora_scale) == (
        [5],
        20,
        0.6,
        "/tmp/x.safetensors",
        0.8,
    )
    assert made.job().seeds == [11, 12]
    parameters = made.png_parameters(seed=12)
    assert parameters["seed"] == 12 and parameters["extra"] == {
        "Preset": "sd21",
        "Denoising strength": 0.6,
        "Reference fit": "cover",
        "LoRA scale": 0.8,
    }


def test_png_metadata_reads_back_preset_strength_and_lora_scale():
    made = full_recipe()
    data = png_bytes(Image.new("RGB", (8, 8)), **made.png_parameters(seed=12))
    read = read_parameters(data)
    assert read["preset"] == "sd21"
    assert read["strength"] == 0.6
    assert read["lora_scale"] == 0.8
    assert read["reference_fit"] == "cover"
    assert (read["seed"], read["steps"], read["guidance_scale"]) == (12, 20, 7.5)
    assert (read["width"], read["height"], read["model"]) == (768, 768, made.model)
    assert read["scheduler"] == made.scheduler and read["negative_prompt"] == "blurry"
    plain = read_parameters(
        png_bytes(Image.new("RGB", (8, 8)), **build(preset="sd-turbo", prompt="x").png_parameters(seed=1))
    )
    assert plain["preset"] == "sd-turbo" and "strength" not in plain and "lora_scale" not in plain
    assert "reference_fit" not in plain


# --- presets: one envelope for the database, overrides kept inside it -----------------------------


def test_the_models_constraints_are_the_presets_envelope():
    envelope = presets.ENVELOPE
    assert envelope.max_steps == max(p.max_steps for p in presets.BUILT_IN.values())
    assert envelope.max_guidance == max(p.max_guidance for p in presets.BUILT_IN.values())
    constraints = {c.name: c.condition for c in GenerationRequest._meta.constraints}
    assert constraints["genreq_steps_range"] == Q(steps__gte=envelope.min_steps) & Q(
        steps__lte=envelope.max_steps
    )
    assert constraints["genreq_guidance_range"] == Q(guidance_scale__gte=envelope.min_guidance) & Q(
        guidance_scale__lte=envelope.max_guidance
    )
    assert constraints["genreq_variations_range"] == Q(variations__gte=1) & Q(
        variations__lte=envelope.max_variations
    )


def test_overrides_past_the_envelope_and_the_old_range_settings_are_reported(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "PRESET_OVERRIDES": {"sd21": {"max_steps": 150}},
        "MAX_STEPS": 150,
    }
    problems = presets.override_problems()
    assert any("steps 1..150 goes past 1..100" in p for p in problems), problems
    assert any("PERSONALIZATION['MAX_STEPS'] is no longer read" in p and '"max_steps"' in p for p in problems)


# --- the brand's preset ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_brand_with_lora_weights_cannot_choose_sd_turbo(settings):
    brand = make_brand(lora_weights=LORA)
    brand.model_preset = "sd-turbo"
    with pytest.raises(ValidationError) as caught:
        brand.full_clean()
    assert "cannot apply a brand's LoRA weights" in caught.value.message_dict["model_preset"][0]
    brand.model_preset = "sd21-base"
    brand.full_clean()
    # Blank is the shop's default preset: refused too when that one cannot take a LoRA.
    brand.model_preset = ""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DEFAULT_PRESET": "sd-turbo"}
    with pytest.raises(ValidationError):
        brand.full_clean()
    brand.lora_weights = ""
    brand.full_clean()


@pytest.mark.django_db
def test_the_brand_field_offers_the_presets():
    field = Brand._meta.get_field("model_preset")
    assert list(field.choices) == presets.CHOICES
    brand = make_brand()
    brand.model_preset = "sd-xl"
    with pytest.raises(ValidationError) as caught:
        brand.full_clean()
    assert "model_preset" in caught.value.message_dict


# --- the submit service -----------------------------------------------------------------------------

SUBMIT = {"base_color": "White", "description": "a lighthouse on a cliff at dawn", "seed": 5}


@pytest.mark.django_db
def test_the_brands_preset_decides_the_rows_recipe():
    product = make_product(brand=make_brand(model_preset="sd21-base"))
    req = generation_request_create(product=product, **SUBMIT)
    base = presets.BUILT_IN["sd21-base"]
    assert req.preset == "sd21-base" and req.status == Status.QUEUED
    assert req.scheduler_name == base.scheduler_label
    # 512 px' worth in the shape of the T-shirt's 250 x 300 mm print area (sizing.shaped_size).
    assert (req.steps, req.guidance_scale, req.width, req.height) == (25, 7.5, 448, 576)
    assert req.pixel_budget == 512
    assert req.model_name == presets.model_for("sd21-base")
    assert req.negative_prompt  # the brand's negatives and the built-in ones
    made = req.recipe
    assert (made.preset, made.steps, made.size, made.prompt) == (
        "sd21-base",
        25,
        "448x576",
        req.optimized_prompt,
    )
    assert req.cache_key == made.cache_key(
        str(product.pk),
        req.base_color_hex.lower(),
        str(req.material_id),
        str(req.brand_id),
        f"brand-rev:{req.brand.revision}",
    )


@pytest.mark.django_db
def test_the_products_preset_comes_before_its_brands():
    product = make_product(brand=make_brand(model_preset="sd21-base"), model_preset="sd-turbo")
    req = generation_request_create(product=product, **SUBMIT)
    assert req.preset == "sd-turbo"
    assert req.scheduler_name == TURBO.scheduler_label == "EulerDiscreteScheduler (trailing timesteps)"
    assert (req.steps, req.guidance_scale, req.width, req.pixel_budget) == (1, 0.0, 448, 512)
    assert req.negative_prompt == ""  # no negative prompt without guidance
    with pytest.raises(ValidationError) as caught:
        generation_request_create(product=product, **SUBMIT, guidance_scale=7.5, steps=8)
    assert caught.value.message_dict == {
        "guidance_scale": ["Guidance must be 0 with this model."],
        "steps": ["Steps must be between 1 and 4."],
    }


@pytest.mark.django_db
def test_recipe_errors_come_with_the_products_own():
    product = make_product(model_preset="sd-turbo")
    with pytest.raises(ValidationError) as caught:
        generation_request_create(product=product, **{**SUBMIT, "base_color": "Plaid"}, size=768)
    assert set(caught.value.message_dict) == {"base_color", "size"}
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
def test_a_lora_brand_on_an_sd_turbo_product_is_refused_at_submit():
    product = make_product(brand=make_brand(lora_weights=LORA), model_preset="sd-turbo")
    with pytest.raises(ValidationError) as caught:
        generation_request_create(product=product, **SUBMIT)
    assert "cannot be used with SD-Turbo" in caught.value.message_dict["product"][0]
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
def test_the_batch_holds_one_preset(settings):
    """Two waiting requests alike in everything but the preset (even on the same weights) are not
    run in one pipeline call."""
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "MODELS": {"sd21": "/models/shared", "sd21-base": "/models/shared"},
    }
    values = {**SUBMIT, "size": 512, "steps": 10}
    first = generation_request_create(product=make_product(), **values)
    same = generation_request_create(product=make_product(), **values)
    other = generation_request_create(
        product=make_product(brand=make_brand(model_preset="sd21-base")), **values
    )
    assert first.model_name == other.model_name and other.preset == "sd21-base"
    assert lifecycle.compatible_waiting(first=first, limit_images=8) == [same.pk]


# --- the worker ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_worker_runs_a_queued_sd21_request_through_its_recipe(tiny_model):
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    req = generation_request_create(
        product=product, **SUBMIT, size=64, steps=3, reference_image=ContentFile(png((80, 60)), name="me.png")
    )
    assert req.preset == "sd21" and req.recipe.is_img2img
    job = worker.job_for(req)
    expected = req.recipe.job(reference_image=job.reference_image)
    assert dataclasses.replace(job, reference_image=None) == dataclasses.replace(
        expected, reference_image=None
    )
    assert job.reference_image is not None and job.strength == 0.6

    assert worker.run(req.pk) == "succeeded 1 of 1"
    req.refresh_from_db()
    assert req.status == Status.SUCCEEDED, (req.error_code, req.error_message)
    image = req.images.get()
    with image.image.open("rb") as fh:
        read = read_parameters(fh.read())
    assert read["preset"] == "sd21" and read["strength"] == 0.6 and read["seed"] == image.seed
    assert (read["steps"], read["width"], read["model"]) == (3, 64, req.model_name)
    assert read["request"] == str(req.pk) and read["variation"] == "0"


# --- the frozen order line --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_frozen_line_design_carries_the_preset_and_the_variations_recipe():
    product = make_product()
    generation = make_succeeded_generation(product, preset="sd21-base", variations=2, width=512, height=512)
    second = make_generation_image(generation, index=1)
    make_order(product, design=second)
    design = LineDesign.objects.get()
    assert design.preset == "sd21-base"
    frozen = Recipe.from_dict(design.recipe)
    assert frozen == dataclasses.replace(generation.recipe, seed=second.seed, variations=1)
    assert (
        frozen.seed == generation.seed + 1
        and design.recipe["scheduler"] == presets.BUILT_IN["sd21-base"].scheduler_label
    )


@pytest.mark.django_db
def test_migration_0008_fills_the_recipe_of_designs_frozen_before_it():
    fill = importlib.import_module("personalization.migrations.0008_recipe_presets").fill_recipes
    product = make_product()
    generation = make_succeeded_generation(product)
    make_order(product, design=generation.images.get())
    expected = LineDesign.objects.get().recipe
    assert expected.pop("reference_fit") == "cover"  # 0008 predates the fit (0009): from_dict's default
    LineDesign.objects.update(recipe={})  # as rows frozen before 0008

    fill(apps, None)

    design = LineDesign.objects.get()
    assert design.recipe == {**expected, "scheduler": generation.scheduler_name}
    assert Recipe.from_dict(design.recipe).seed == generation.images.get().seed
    assert Recipe.from_dict(design.recipe).reference_fit == "cover"
