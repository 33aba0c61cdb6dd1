"""Validation at submit: every rule the engine enforces (personalization/engine/rules.py, the list the
engine's own validate_jobs checks: tests/personalization/engine/test_rules.py) is checked when a
request is submitted, so no request is accepted and then failed by the worker for a reason the
submit could have caught. Each rule, through the service, the studio form and the API: a field error
saying what to change, nothing created, nothing queued, nothing counted against the quota.

The checks are the Recipe's (personalization.recipe.build, the one validation). Several rules are
also guarded by the model preset's own, narrower ranges (steps, guidance, sizes); those cases run
with the preset widened past the engine's limits (PRESET_OVERRIDES, which the system check would
refuse), so the engine's rule itself is what refuses them."""

import io
import re
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from brand_guides.models import Brand
from personalization import lifecycle, worker
from personalization.engine import rules
from personalization.models import GenerationRequest
from personalization.recipe import ENGINE_RULE_ERRORS, Recipe
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product, make_user, png, visitor
from tests.personalization.api.conftest import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
Status = GenerationRequest.Status
API = "/api/v1/generations/"
MISSING_LORA = "brands/lora/missing-brand-style.safetensors"
STUDIO_VISITOR = "visitor-submit"

# The default preset widened past the engine (steps 1..150, guidance 0..30, sizes multiples of 8 in
# 64..2048).
WIDE = {"max_steps": 1000, "max_guidance": 100.0, "sizes": (64, 100, 128, 4096), "default_size": 64}


@dataclass(frozen=True)
class Case:
    rule: str
    values: dict  # request values over BASE (reference=True: with a reference picture)
    field: str  # where the error goes
    says: str  # a pattern the message matches (the API's serializer has its own words for its bounds)
    wide: bool = False  # under WIDE settings
    missing_lora: bool = False  # the product's brand names a LoRA file that is not in the storage
    channels: tuple = ("service", "studio", "api")
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        shown = ",".join(f"{k}={v}" for k, v in self.values.items()) or "missing-file"
        return f"{self.rule}[{shown}]"


CASES = [
    # The API takes only text; the studio's text box and the service's prompt builder make only text.
    Case("text", {"description": 123}, "description", "Not a valid string", channels=("api",)),
    Case("seeds_present", {"variations": 0}, "variations", "between 1 and|greater than or equal to 1"),
    Case("seed_range", {"seed": -1}, "seed", "between 0 and|greater than or equal to 0"),
    Case("seed_range", {"seed": 2**64}, "seed", "between 0 and|less than or equal to 4294967295"),
    Case("size", {"size": 100}, "size", "multiples of 8", wide=True, channels=("service", "api")),
    Case("size", {"size": 4096}, "size", "from 64 to 2048", wide=True, channels=("service", "api")),
    Case("steps", {"steps": 151}, "steps", "151 steps are more than the generator can run", wide=True),
    Case("guidance", {"guidance_scale": 30.5}, "guidance_scale", "30.5 is out of the generator", wide=True),
    Case("strength", {"strength": 0}, "strength", "between 0.05 and 1|greater than or equal to 0.05"),
    # The issue's request: steps 1, a reference picture, strength 0.6.
    Case(
        "img2img_steps",
        {"steps": 1, "strength": 0.6, "reference": True},
        "steps",
        "use at least 2 steps, or a strength of at least 1.",
    ),
    Case(
        "img2img_steps",
        {"steps": 3, "strength": 0.3, "reference": True},
        "steps",
        "use at least 4 steps, or a strength of at least 0.34.",
    ),
    Case("lora_file", {}, "product", "style file is missing", missing_lora=True),
]

BASE = {
    "base_color": "White",
    "description": "a lighthouse on a cliff at dawn",
    "steps": 20,
    "guidance_scale": 7.5,
    "seed": 42,
    "variations": 1,
    "strength": 0.6,
}


def use(settings, **overrides):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, **overrides}


def widen(settings, **fields):
    """Widen the default preset "sd21" (keeping the other overrides, e.g. the tiny model's)."""
    overrides = dict(settings.PERSONALIZATION.get("PRESET_OVERRIDES") or {})
    overrides["sd21"] = {**overrides.get("sd21", {}), **fields}
    use(settings, PRESET_OVERRIDES=overrides)


@pytest.fixture
def product():
    return make_product(name="Harbour tee", slug="harbour-tee")


def without_lora_file(product):
    """The brand names a LoRA that is not in the storage (deleted, or an S3 bucket gone wrong)."""
    Brand.objects.filter(pk=product.brand_id).update(lora_weights=MISSING_LORA)
    product.brand.refresh_from_db()


def request_values(case: Case) -> dict:
    values = {**BASE, **case.values}
    values.pop("reference", None)
    return values


def reference_file():
    return ContentFile(png((80, 60)), name="me.png")


def submit_service(case: Case, product, customer) -> dict:
    kwargs = request_values(case)
    if case.values.get("reference"):
        kwargs["reference_image"] = reference_file()
    with pytest.raises(ValidationError) as caught:
        generation_request_create(product=product, customer=customer, **kwargs)
    return caught.value.message_dict


def submit_studio(case: Case, product, customer) -> dict:
    client = visitor(Client(), STUDIO_VISITOR)
    data = {k: str(v) for k, v in request_values(case).items()}
    data["product"] = product.slug
    if case.values.get("reference"):
        data["reference_image"] = reference_file()
    response = client.post(reverse("personalization:studio"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422, response.content[:300]
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def submit_api(case: Case, product, customer) -> dict:
    client = token_client(customer)
    data = {**request_values(case), "product": product.slug}
    if case.values.get("reference"):
        upload = io.BytesIO(png((80, 60)))
        upload.name = "me.png"
        response = client.post(API, {**data, "reference_image": upload}, format="multipart")
    else:
        response = client.post(API, data, format="json")
    assert response.status_code == 400, response.content[:300]
    return response.json()


SUBMIT = {"service": submit_service, "studio": submit_studio, "api": submit_api}
RUNS = [(case, channel) for case in CASES for channel in case.channels]


def test_every_engine_rule_is_caught_at_submit():
    """The cases (and the service's messages) cover exactly the engine's rules: a rule added to
    the engine without a submit check and a case here fails this test."""
    names = {rule.name for rule in rules.JOB_RULES}
    assert {case.rule for case in CASES} == names
    assert set(ENGINE_RULE_ERRORS) == names
    # Batch rules concern how the worker groups requests (one request is one job): see
    # test_the_worker_only_batches_jobs_the_engine_accepts.
    assert {rule.name for rule in rules.BATCH_RULES} == {
        "batch_present",
        "batch_shared",
        "batch_img2img_alone",
    }


@pytest.mark.parametrize(("case", "channel"), RUNS, ids=[f"{c.id}-{ch}" for c, ch in RUNS])
def test_each_engine_rule_is_a_field_error_at_submit_and_nothing_is_created(
    settings, product, case, channel, django_capture_on_commit_callbacks
):
    if case.wide:
        widen(settings, **WIDE)
    if case.missing_lora:
        without_lora_file(product)
    use(settings, DAILY_QUOTA=1)
    customer = make_user()
    with django_capture_on_commit_callbacks() as callbacks:
        errors = SUBMIT[channel](case, product, customer)
    assert case.field in errors, errors
    assert any(re.search(case.says, message) for message in errors[case.field]), errors
    assert not GenerationRequest.objects.exists() and callbacks == []
    # Nothing counted: the same owner's one request of the day is still there to use.
    if case.missing_lora:
        Brand.objects.filter(pk=product.brand_id).update(lora_weights="")
        product.brand.refresh_from_db()
    owner = {"session_key": STUDIO_VISITOR} if channel == "studio" else {"customer": customer}
    generation = generation_request_create(product=product, **owner, **BASE)
    assert generation.status == Status.QUEUED


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_case_is_a_job_the_engine_refuses(settings, product, case):
    """Without the check at submit, each case would become a job that the engine refuses (with the
    rule the case is about): the worker would fail the accepted request."""
    if case.missing_lora:
        without_lora_file(product)
    values = request_values(case)
    brand = product.brand
    size = values.get("size", 64)
    unchecked = Recipe(  # built directly, skipping recipe.build's checks
        preset="sd21",
        model="stabilityai/stable-diffusion-2-1",
        prompt=values["description"],
        negative_prompt="",
        seed=values["seed"],
        variations=values["variations"],
        steps=values["steps"],
        guidance_scale=values["guidance_scale"],
        width=size,
        height=size,
        strength=values["strength"],
        reference_sha256="0" * 64 if case.values.get("reference") else "",
        lora=brand.lora_weights.name or "",
        lora_scale=brand.lora_scale,
    )
    reference = Image.open(io.BytesIO(png()), formats=["PNG"]) if case.values.get("reference") else None
    job = unchecked.job(reference_image=reference, lora_path=unchecked.lora or None)
    storage_has = product.brand.lora_weights.storage.exists
    assert case.rule in [rule.name for rule in rules.problems(job, file_exists=storage_has)]
    with pytest.raises(rules.RuleBroken):
        rules.check_job(job, file_exists=storage_has)


def test_the_issues_request_says_what_to_change(product):
    with pytest.raises(ValidationError) as caught:
        generation_request_create(
            product=product, reference_image=reference_file(), **{**BASE, "steps": 1, "strength": 0.6}
        )
    assert caught.value.message_dict == {
        "steps": [
            "With a reference image, steps × strength must be at least 1 (1 × 0.6 leaves no step to run): "
            "use at least 2 steps, or a strength of at least 1."
        ]
    }


BOUNDARIES = [
    # (request values, run by the worker: slow on a CPU, so only the few that matter most)
    ({"steps": 2, "strength": 0.5, "reference": True}, True),  # exactly one img2img step
    ({"steps": 1, "guidance_scale": 0.0, "seed": 2**32 - 1, "variations": 2}, True),
    ({"steps": 1, "strength": 1.0, "reference": True}, False),
    ({"steps": 19, "strength": 0.05, "reference": True}, False),  # int(19 × 0.05) = 0 ... is refused
    ({"steps": 20, "strength": 0.05, "reference": True}, False),  # ... int(20 × 0.05) = 1 is not
    # The widest any preset allows (presets.ENVELOPE: the database's constraints too).
    ({"steps": 100, "guidance_scale": 20.0, "size": 2048, "wide": True}, False),
]


@pytest.mark.parametrize(
    ("values", "run"), BOUNDARIES, ids=[",".join(f"{k}={v}" for k, v in b[0].items()) for b in BOUNDARIES]
)
def test_the_accepted_side_of_each_boundary_becomes_a_job_the_engine_runs(
    settings, tiny_model, product, values, run
):
    """Accepted at submit; the Job the worker builds from the row (worker.job_for) passes the engine's
    check; the marked ones are then run by the worker's own code (worker.run, the tiny pipeline)."""
    values = dict(values)
    if values.pop("wide", False):
        widen(settings, sizes=(64, 2048), default_size=64)
    kwargs = {**BASE, "size": 64, **values}
    if kwargs.pop("reference", False):
        kwargs["reference_image"] = reference_file()
    if kwargs["steps"] == 19:  # the refused side of the same boundary
        with pytest.raises(ValidationError, match="use at least 20 steps, or a strength of at least 0.06"):
            generation_request_create(product=product, **kwargs)
        return
    product.brand.min_consistency_score = 0
    product.brand.save()
    generation = generation_request_create(product=product, **kwargs)
    assert generation.status == Status.QUEUED
    rules.check_job(worker.job_for(generation))
    if run:
        worker.run(generation.pk)
        generation.refresh_from_db()
        assert generation.status == Status.SUCCEEDED, (generation.error_code, generation.error_message)
        assert generation.images.count() == generation.variations


def test_the_worker_only_batches_jobs_the_engine_accepts(tiny_model):
    """Requests for two brands without a LoRA but with different (unused) lora_scale settings are
    batched together by the worker; the engine takes that batch (it used to refuse it, failing both
    accepted requests with generation_error)."""
    first, second = (
        make_product(brand=make_brand(lora_scale=scale, min_consistency_score=0)) for scale in (0.7, 1.0)
    )
    a, b = (generation_request_create(product=p, **{**BASE, "size": 64, "steps": 3}) for p in (first, second))
    assert lifecycle.compatible_waiting(first=a, limit_images=8) == [b.pk]
    rules.check_batch([worker.job_for(a), worker.job_for(b)])
    assert worker.run(a.pk) == "succeeded 2 of 2"
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == Status.SUCCEEDED
