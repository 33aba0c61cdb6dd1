"""Designs shaped like the print area (personalization/sizing.py): the request's `size` is a pixel
budget that takes the product's aspect ratio; img2img fits the reference to that shape (cover or
contain); a transparent background asks the prompt for a plain one. From the bucket rule up to the
worker's PNG and the frozen order line."""

import dataclasses
import io
import math

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from personalization import presets, worker
from personalization.engine import rules
from personalization.engine.metadata import read_parameters
from personalization.forms import StudioForm
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.prompting import PHOTOGRAPHY_SUFFIX, PLAIN_BACKGROUND, build_prompts
from personalization.recipe import Recipe, RecipeInvalid, build
from personalization.services import generation_request_create
from personalization.sizing import budget_of, fit_reference, shaped_size
from personalization.specs import BrandSpec, ProductSpec
from tests.factories import make_product, png
from tests.foundation_helpers import make_order

MUG = {"print_width_mm": 200, "print_height_mm": 85, "product_type": "mug"}
SUBMIT = {"base_color": "White", "description": "a lighthouse on a cliff at dawn", "seed": 5}


# --- the bucket rule -------------------------------------------------------------------------------


def test_a_mug_strip_at_768_is_1152_by_512_and_a_square_stays_square():
    assert shaped_size(768, 200 / 85) == (1152, 512)
    assert shaped_size(768, 85 / 200) == (512, 1152)
    assert shaped_size(768, 1.0) == (768, 768)
    assert shaped_size(512, 1.0) == (512, 512)
    # Within 2% of square: the budget itself, even when it is not a multiple of 64.
    assert shaped_size(520, 1.015) == (520, 520)
    assert shaped_size(520, 1 / 1.015) == (520, 520)


def test_smaller_budgets_take_the_nearest_bucket():
    assert shaped_size(512, 250 / 300) == (448, 576)  # the test factory's T-shirt
    assert shaped_size(256, 200 / 85) == (320, 192)
    assert shaped_size(128, 200 / 85) == (256, 64)
    assert shaped_size(128, 250 / 300) == (128, 128)  # no 64-multiple shape is nearer than square
    assert shaped_size(64, 3.0) == (64, 64)  # the smallest budget has one shape


@pytest.mark.parametrize("aspect", [0, -1.5, math.inf, math.nan, "2"])
def test_an_aspect_that_is_no_ratio_is_refused(aspect):
    with pytest.raises(ValueError, match="aspect"):
        shaped_size(768, aspect)


budgets = st.integers(min_value=8, max_value=256).map(lambda n: n * 8)  # 64 to 2048, multiples of 8
aspects = st.floats(min_value=0.1, max_value=10.0, allow_nan=False, allow_infinity=False)


@given(size=budgets, aspect=aspects)
def test_shapes_stay_within_the_budget_and_the_engines_limits(size, aspect):
    width, height = shaped_size(size, aspect)
    assert width * height <= size * size
    assert rules.size_ok(width, height)
    assert 64 <= width <= 2048 and 64 <= height <= 2048
    if (width, height) != (size, size):
        assert width % 64 == 0 and height % 64 == 0
    # Symmetric: a portrait area gets the landscape shape turned on its side.
    assert shaped_size(size, 1 / aspect) == (height, width)
    if aspect >= 1.02:
        assert width >= height
    # Never further from the print area than the square budget itself.
    assert abs(math.log(width / height) - math.log(aspect)) <= abs(math.log(aspect)) + 1e-9


@given(size=st.sampled_from([64, 128, 256, 512, 768, 1024]), aspect=aspects)
def test_the_budget_reads_back_from_the_shape(size, aspect):
    sizes = (64, 128, 256, 512, 768, 1024)
    assert budget_of(*shaped_size(size, aspect), sizes) == size


# --- fitting the reference picture -----------------------------------------------------------------


def halves(size=(400, 100)) -> Image.Image:
    """Red on the left half, blue on the right."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def framed(size=(400, 100)) -> Image.Image:
    """A green frame (2 px) around a red picture."""
    image = Image.new("RGB", size, (0, 160, 0))
    image.paste((255, 0, 0), (2, 2, size[0] - 2, size[1] - 2))
    return image


def near(pixel, colour, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_cover_fills_the_shape_and_crops_the_centre():
    fitted = fit_reference(halves(), (128, 128), "cover")
    assert fitted.size == (128, 128) and fitted.mode == "RGB"
    # The centre 100 x 100 of the 400 x 100 picture, scaled: half red, half blue, no padding.
    assert near(fitted.getpixel((10, 64)), (255, 0, 0)) and near(fitted.getpixel((118, 64)), (0, 0, 255))
    assert near(fitted.getpixel((10, 2)), (255, 0, 0))


def test_contain_keeps_the_whole_picture_and_pads_with_its_border_colour():
    fitted = fit_reference(framed(), (128, 128), "contain")
    assert fitted.size == (128, 128)
    # 400 x 100 becomes 128 x 32 in the middle; above and below it the frame's green.
    assert fitted.getpixel((64, 5)) == (0, 160, 0) and fitted.getpixel((64, 122)) == (0, 160, 0)
    assert near(fitted.getpixel((64, 64)), (255, 0, 0), tolerance=30)
    # The mean of the border: a picture half red and half blue pads with purple.
    assert near(fit_reference(halves(), (128, 128), "contain").getpixel((64, 5)), (128, 0, 128), 2)


def test_a_reference_of_the_right_size_is_only_made_rgb_and_a_bad_fit_is_refused():
    rgba = Image.new("RGBA", (128, 64), (10, 20, 30, 255))
    assert fit_reference(rgba, (128, 64), "contain").mode == "RGB"
    with pytest.raises(ValueError, match="fit"):
        fit_reference(rgba, (64, 64), "stretch")


# --- the Recipe -------------------------------------------------------------------------------------


def test_build_shapes_the_budget_and_keeps_the_size_contract():
    made = build(preset="sd21", prompt="a fox", size=768, aspect=200 / 85, seed=1)
    assert (made.width, made.height, made.size) == (1152, 512, "1152x512")
    assert build(preset="sd21", prompt="a fox", size=512, seed=1).size == "512x512"  # aspect 1 by default
    with pytest.raises(RecipeInvalid) as caught:
        build(preset="sd21", prompt="a fox", size=1152, aspect=200 / 85)
    assert caught.value.errors == {"size": "Size must be between 512 and 768."}  # a budget, not a width


def test_a_bad_reference_fit_is_a_field_error():
    with pytest.raises(RecipeInvalid) as caught:
        build(
            preset="sd21", prompt="a fox", reference_png=png(), reference_sha256="a" * 64, reference_fit="x"
        )
    assert caught.value.errors == {
        "reference_fit": "Choose how to fit the reference picture: cover or contain."
    }


def img2img(fit: str, **values) -> Recipe:
    return build(
        preset="sd21",
        prompt="a fox",
        size=768,
        aspect=200 / 85,
        seed=3,
        reference_png=png((300, 300)),
        reference_sha256="c" * 64,
        reference_fit=fit,
        **values,
    )


def test_the_fit_counts_with_a_reference_image_only():
    cover, contain = img2img("cover"), img2img("contain")
    assert (cover.reference_fit, contain.reference_fit) == ("cover", "contain")
    assert cover.cache_key("p") != contain.cache_key("p")
    assert contain.png_parameters(seed=3)["extra"]["Reference fit"] == "contain"
    plain = build(preset="sd21", prompt="a fox", seed=3, reference_fit="contain")
    assert plain.reference_fit == "cover" and "Reference fit" not in plain.png_parameters(seed=3)["extra"]
    assert plain.cache_key("p") == dataclasses.replace(plain, reference_fit="contain").cache_key("p")


def test_the_job_gets_the_reference_fitted_to_the_recipes_shape():
    contain = img2img("contain")
    job = contain.job(reference_image=framed((300, 300)))
    assert job.reference_image.size == (1152, 512) == (job.width, job.height)
    assert job.reference_image.getpixel((5, 256)) == (0, 160, 0)  # padded left and right
    covered = img2img("cover").job(reference_image=framed((300, 300))).reference_image
    assert covered.size == (1152, 512) and near(covered.getpixel((20, 256)), (255, 0, 0), 30)
    assert rules.problems(job, file_exists=lambda name: True) == []


def test_a_recipe_frozen_before_the_fit_existed_still_loads():
    data = img2img("contain").as_dict()
    del data["reference_fit"]
    assert Recipe.from_dict(data).reference_fit == "cover"


# --- the prompt -------------------------------------------------------------------------------------


def mug_spec() -> ProductSpec:
    return ProductSpec(
        name="Mug",
        product_type="mug",
        category_slug="drinkware",
        category_name="Drinkware",
        base_color_name="White",
        base_color_hex="#FFFFFF",
    )


def test_a_transparent_background_asks_for_a_plain_one_first():
    plain = build_prompts(product=mug_spec(), description="A fox", style=None, material=None, brand=None)
    cut = build_prompts(
        product=mug_spec(),
        description="A fox",
        style=None,
        material=None,
        brand=None,
        transparent_background=True,
    )
    assert PLAIN_BACKGROUND not in plain.prompt and PHOTOGRAPHY_SUFFIX in plain.prompt
    assert cut.prompt.startswith(f"A fox, {PLAIN_BACKGROUND}")
    assert PHOTOGRAPHY_SUFFIX not in cut.prompt  # photography invites scenery
    assert "busy background, scenery, texture" in cut.negative_prompt
    assert "busy background" not in plain.negative_prompt


def test_the_plain_background_survives_a_tight_token_budget():
    brand = BrandSpec(
        name="Harbour",
        style_keywords=tuple(f"keyword{n}" for n in range(40)),
        negative_keywords=tuple(f"bad{n}" for n in range(40)),
    )
    cut = build_prompts(
        product=mug_spec(),
        description="A fox",
        style=None,
        material=None,
        brand=brand,
        transparent_background=True,
        max_tokens=40,
    )
    assert PLAIN_BACKGROUND in cut.prompt and cut.prompt_tokens <= 40 and cut.dropped
    # Right after the base negatives, before the brand's: kept while the brand's are dropped.
    assert "deformed, busy background, scenery, texture" in cut.negative_prompt
    assert "bad39" in cut.negative_dropped


# --- submit -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_generates_in_the_print_areas_shape(settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PRESET_OVERRIDES": {"sd21": {"sizes": (256,)}}}
    req = generation_request_create(product=make_product(**MUG), **SUBMIT)
    assert (req.width, req.height) == shaped_size(256, 200 / 85) == (320, 192)
    assert req.recipe.size == "320x192" and req.pixel_budget == 256
    square = generation_request_create(
        product=make_product(print_width_mm=100, print_height_mm=100), **SUBMIT
    )
    assert (square.width, square.height) == (256, 256)


@pytest.mark.django_db
def test_submit_stores_the_fit_and_the_transparent_background():
    product = make_product(**MUG)
    reference = ContentFile(png((80, 60)), name="me.png")
    req = generation_request_create(
        product=product,
        **SUBMIT,
        reference_image=reference,
        reference_fit="contain",
        transparent_background=True,
    )
    assert (req.reference_fit, req.transparent_background) == ("contain", True)
    assert req.recipe.reference_fit == "contain" and req.recipe.is_img2img
    assert PLAIN_BACKGROUND in req.optimized_prompt
    assert (req.width, req.height) == (1152, 512)  # the default preset's 768 budget, on a mug
    # Without a reference image the fit means nothing: the row keeps "cover".
    plain = generation_request_create(product=product, **SUBMIT, reference_fit="contain")
    assert plain.reference_fit == "cover" and not plain.transparent_background


@pytest.mark.django_db
def test_the_result_cache_tells_the_fits_and_the_background_apart():
    product = make_product(**MUG)

    def key(**values):
        reference = ContentFile(png((80, 60)), name="me.png")
        return generation_request_create(
            product=product, **SUBMIT, reference_image=reference, **values
        ).cache_key

    assert key(reference_fit="cover") == key(reference_fit="cover")
    assert key(reference_fit="cover") != key(reference_fit="contain")
    assert key() != key(transparent_background=True)


@pytest.mark.django_db
def test_submit_refuses_a_bad_fit_under_its_field():
    reference = ContentFile(png((80, 60)), name="me.png")
    with pytest.raises(ValidationError) as caught:
        generation_request_create(
            product=make_product(**MUG), **SUBMIT, reference_image=reference, reference_fit="stretch"
        )
    assert caught.value.message_dict == {
        "reference_fit": ["Choose how to fit the reference picture: cover or contain."]
    }


@pytest.mark.django_db
def test_the_studio_form_shows_each_size_in_the_products_shape():
    product = make_product(**MUG)
    form = StudioForm(initial={"product": product.slug})
    assert form.fields["size"].widget.choices == [(512, "768 × 320 px"), (768, "1152 × 512 px")]
    assert StudioForm().fields["size"].widget.choices == [(512, "512 × 512 px"), (768, "768 × 768 px")]
    bound = StudioForm(
        {
            "product": product.slug,
            "description": "a fox",
            "reference_fit": "contain",
            "transparent_background": "on",
        }
    )
    assert bound.is_valid(), bound.errors
    kwargs = bound.service_kwargs()
    assert (kwargs["reference_fit"], kwargs["transparent_background"]) == ("contain", True)
    wrong = StudioForm({"product": product.slug, "description": "a fox", "reference_fit": "stretch"})
    assert not wrong.is_valid()
    assert wrong.errors["reference_fit"] == ["Choose how to fit the reference picture: cover or contain."]


# --- the studio: size shown, vary and edit keep the budget, the fit and the background --------------


def mug_request_done(*, key: str = "visitor-me") -> GenerationRequest:
    """A finished request for a mug (768 budget: 1152 x 512) with a contained reference and no
    background, with its one image."""
    req = generation_request_create(
        product=make_product(**MUG),
        **SUBMIT,
        reference_image=ContentFile(png((80, 60)), name="me.png"),
        reference_fit="contain",
        transparent_background=True,
        session_key=key,
    )
    GenerationRequest.objects.filter(pk=req.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    req.refresh_from_db()
    image = GenerationImage(request=req, index=0, seed=req.seed, width=req.width, height=req.height)
    image.image.save("design.png", ContentFile(png((32, 16))), save=False)
    image.save()
    return req


@pytest.mark.django_db
def test_the_result_shows_the_designs_size(me):
    req = mug_request_done()
    html = me.get(reverse("personalization:job", args=[req.pk])).content.decode()
    assert "<div><dt>Size</dt><dd>1152 × 512 px</dd></div>" in html


@pytest.mark.django_db
def test_vary_keeps_the_budget_the_shape_the_fit_and_the_background(me, django_capture_on_commit_callbacks):
    source = mug_request_done()
    with django_capture_on_commit_callbacks():
        response = me.post(reverse("personalization:job_vary", args=[source.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 201, response.content.decode()
    new = GenerationRequest.objects.exclude(pk=source.pk).get()
    assert (new.width, new.height, new.pixel_budget) == (1152, 512, 768)
    assert (new.reference_fit, new.transparent_background) == ("contain", True)
    assert new.reference_sha256 == source.reference_sha256 and new.seed != source.seed


@pytest.mark.django_db
def test_edit_prefills_the_budget_the_fit_and_the_background(me):
    source = mug_request_done()
    html = me.get(reverse("personalization:studio"), {"edit": str(source.pk)}).content.decode()
    assert '<option value="768" selected>1152 × 512 px</option>' in html
    assert '<option value="contain" selected>' in html
    assert 'id="id_transparent_background" checked>' in html


# --- the worker, the PNG and the order line ---------------------------------------------------------


@pytest.mark.django_db
def test_a_mugs_design_png_and_frozen_line_have_the_mugs_shape(tiny_model):
    product = make_product(**MUG)
    product.brand.min_consistency_score = 0
    product.brand.save()
    reference = ContentFile(png((80, 60)), name="me.png")
    req = generation_request_create(
        product=product, **SUBMIT, size=128, steps=3, reference_image=reference, reference_fit="contain"
    )
    assert (req.width, req.height) == (256, 64)
    assert worker.job_for(req).reference_image.size == (256, 64)

    assert worker.run(req.pk) == "succeeded 1 of 1"
    req.refresh_from_db()
    assert req.status == GenerationRequest.Status.SUCCEEDED, (req.error_code, req.error_message)
    image = req.images.get()
    assert (image.width, image.height) == (256, 64)
    with image.image.open("rb") as fh:
        data = fh.read()
    read = read_parameters(data)
    assert (read["width"], read["height"], read["reference_fit"]) == (256, 64, "contain")
    assert Image.open(io.BytesIO(data)).size == (256, 64)

    make_order(product, design=image)
    design = LineDesign.objects.get()
    assert (design.width, design.height) == (256, 64)
    frozen = Recipe.from_dict(design.recipe)
    assert (frozen.width, frozen.height, frozen.reference_fit) == (256, 64, "contain")


def test_warm_up_shapes_count_for_the_preset_that_makes_them(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "PRESET_OVERRIDES": {"sd21": {"sizes": (64, 128, 512)}},
        "WARMUP_SHAPES": ["256x64x1", "512x64x1", "128x128x1"],
    }
    assert worker.warmup_shapes("sd21") == [(256, 64, 1), (128, 128, 1)]  # 512x64 is no budget's shape
    assert worker.warmup_shapes("sd-turbo") == []  # 512 px only: no shape of these
    assert presets.get("sd-turbo").sizes == (512,)


def test_a_budget_off_the_grid_keeps_its_square_when_no_shape_is_closer():
    """288 at 16:15: the nearest 64-multiples (320 x 256) are further from 16:15 than the square."""
    assert shaped_size(288, 16 / 15) == (288, 288)
    assert shaped_size(288, 15 / 16) == (288, 288)
