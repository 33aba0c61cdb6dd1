"""The studio follows the product's model preset: slider bounds and defaults, what is not offered, the
product switch (htmx fragment), and out-of-range submits answered with the Recipe's message."""

import re
from dataclasses import replace

import pytest
from django.urls import reverse

from personalization import presets
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
HX = {"HTTP_HX_REQUEST": "true"}
STUDIO = "personalization:studio"
FRAGMENT = "personalization:product_fields"
TURBO_LABEL = "SD-Turbo (SD 2.1 distilled, 1-4 steps)"
TURBO_NOTE = "SD-Turbo runs without guidance"


@pytest.fixture
def sd21_product():
    return make_product(name="Classic tee", slug="classic-tee")  # brand and product: no choice


@pytest.fixture
def turbo_product():
    return make_product(name="Quick mug", slug="quick-mug", model_preset="sd-turbo")


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert match, f"no #{element_id}"
    return match.group(0)


def attr(html: str, element_id: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag(html, element_id))
    return match.group(1) if match else None


def options(html: str, element_id: str) -> list[tuple[str, bool]]:
    """(value, selected) of each option of the select with this id."""
    select = html.split(tag(html, element_id), 1)[1].split("</select>", 1)[0]
    return [(v, bool(s)) for v, s in re.findall(r'<option value="([^"]*)"( selected)?', select)]


def studio(client, product) -> str:
    response = client.get(reverse(STUDIO), {"product": product.slug})
    assert response.status_code == 200
    return response.content.decode()


# --- the sliders ---------------------------------------------------------------------------------


def test_sd21_product_gets_the_sd21_sliders(me, sd21_product):
    html = studio(me, sd21_product)
    assert "Model: <strong>Stable Diffusion 2.1 (768-v)</strong>" in html
    assert (attr(html, "id_steps", "type"), attr(html, "id_steps", "min"), attr(html, "id_steps", "max")) == (
        "range",
        "1",
        "100",
    )
    assert attr(html, "id_steps", "value") == "25"
    assert (attr(html, "id_guidance_scale", "min"), attr(html, "id_guidance_scale", "max")) == ("0", "20")
    assert attr(html, "id_guidance_scale", "value") == "7.5"
    assert (attr(html, "id_strength", "min"), attr(html, "id_strength", "max")) == ("0.05", "1")
    assert options(html, "id_size") == [("512", False), ("768", True)]
    assert options(html, "id_variations") == [("1", True), ("2", False), ("3", False), ("4", False)]
    assert 'name="reference_image"' in html
    assert TURBO_NOTE not in html


def test_sd_turbo_product_gets_its_own_sliders_and_no_guidance(me, turbo_product):
    html = studio(me, turbo_product)
    assert f"Model: <strong>{TURBO_LABEL}</strong>" in html
    assert "EulerDiscreteScheduler (trailing timesteps)" in html
    assert (attr(html, "id_steps", "min"), attr(html, "id_steps", "max")) == ("1", "4")
    assert attr(html, "id_steps", "value") == "1"
    assert (attr(html, "id_strength", "min"), attr(html, "id_strength", "value")) == ("0.25", "0.5")
    assert options(html, "id_size") == [("512", True)]
    # No guidance slider (and no negative prompt): a note instead.
    assert 'name="guidance_scale"' not in html
    assert TURBO_NOTE in html
    assert 'name="reference_image"' in html  # SD-Turbo does img2img


def test_the_brand_chooses_unless_the_product_does(me):
    brand = make_brand(model_preset="sd21-base")
    by_brand = make_product(brand=brand)
    by_product = make_product(brand=brand, model_preset="sd-turbo")
    html = studio(me, by_brand)
    assert "Model: <strong>Stable Diffusion 2.1-base (512)</strong>" in html
    assert options(html, "id_size") == [("512", True)]
    assert attr(html, "id_steps", "max") == "100"
    assert attr(studio(me, by_product), "id_steps", "max") == "4"


def test_the_shops_overrides_narrow_the_sliders(me, settings, sd21_product):
    overrides = {"sd21": {"max_steps": 50, "default_steps": 30, "sizes": (512,), "max_variations": 2}}
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "PRESET_OVERRIDES": overrides}
    html = studio(me, sd21_product)
    assert (attr(html, "id_steps", "max"), attr(html, "id_steps", "value")) == ("50", "30")
    assert options(html, "id_size") == [("512", True)]
    assert options(html, "id_variations") == [("1", True), ("2", False)]


def test_without_a_product_the_default_presets_sliders_show(me, settings, sd21_product):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DEFAULT_PRESET": "sd-turbo"}
    html = me.get(reverse(STUDIO)).content.decode()
    assert attr(html, "id_steps", "max") == "4"
    assert f"Model: <strong>{TURBO_LABEL}</strong>" in html


def test_a_preset_without_img2img_hides_the_reference_picture(me, monkeypatch, turbo_product):
    monkeypatch.setitem(presets.BUILT_IN, "sd-turbo", replace(presets.BUILT_IN["sd-turbo"], img2img=False))
    html = studio(me, turbo_product)
    assert 'name="reference_image"' not in html and 'name="strength"' not in html
    assert "SD-Turbo cannot start from a picture of your own." in html


def test_edit_prefills_the_size_of_the_earlier_request(me, sd21_product):
    g = generation_request_create(
        product=sd21_product, base_color="White", description="a fox", size=512, session_key="visitor-me"
    )
    html = me.get(reverse(STUDIO), {"edit": str(g.pk)}).content.decode()
    assert options(html, "id_size") == [("512", True), ("768", False)]


# --- the product switch (htmx fragment) -----------------------------------------------------------


def test_switching_product_swaps_in_the_new_presets_sliders(me, sd21_product, turbo_product):
    params = {"product": turbo_product.slug, "current_preset": "sd21", "steps": "50", "guidance_scale": "9"}
    response = me.get(reverse(FRAGMENT), params, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="product-fields"' in html
    assert attr(html, "preset-fields", "hx-swap-oob") == "true"
    assert f"Model: <strong>{TURBO_LABEL}</strong>" in html
    # Another preset: its own bounds and defaults, not the values of the previous one.
    assert (attr(html, "id_steps", "max"), attr(html, "id_steps", "value")) == ("4", "1")
    assert 'name="guidance_scale"' not in html and TURBO_NOTE in html
    assert attr(html, "preset-fields", "data-preset") == "sd-turbo"
    # And back: the sd21 sliders again.
    params = {"product": sd21_product.slug, "current_preset": "sd-turbo", "steps": "3"}
    html = me.get(reverse(FRAGMENT), params, **HX).content.decode()
    assert (attr(html, "id_steps", "max"), attr(html, "id_steps", "value")) == ("100", "25")
    assert attr(html, "id_guidance_scale", "max") == "20"


def test_switching_between_products_of_one_preset_keeps_the_slider_values(me, sd21_product):
    other = make_product(slug="other-tee")
    params = {
        "product": other.slug,
        "current_preset": "sd21",
        "steps": "50",
        "size": "512",
        "variations": "3",
    }
    html = me.get(reverse(FRAGMENT), params, **HX).content.decode()
    assert (attr(html, "id_steps", "max"), attr(html, "id_steps", "value")) == ("100", "50")
    assert options(html, "id_size") == [("512", True), ("768", False)]
    assert ("3", True) in options(html, "id_variations")


def test_the_studio_form_sends_the_preset_fields_with_a_product_switch(me, sd21_product):
    html = studio(me, sd21_product)
    assert attr(html, "id_product", "hx-include") == "[data-preset-value]"
    for element_id in ("id_steps", "id_guidance_scale", "id_strength", "id_size", "id_variations"):
        assert "data-preset-value" in tag(html, element_id), element_id
    assert 'name="current_preset" value="sd21" data-preset-value' in html
    assert "hx-preserve" in tag(html, "id_reference_image")  # a chosen file survives the switch


# --- submit: the service (recipe.build) is the one validation --------------------------------------


def post(client, product, **overrides):
    data = {"product": product.slug, "base_color": "White", "description": "a lighthouse at dawn"}
    data.update(overrides)
    return client.post(reverse(STUDIO), data, **HX)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"steps": "8"}, "steps", "Steps must be between 1 and 4."),
        ({"guidance_scale": "7.5"}, "guidance_scale", "Guidance must be 0 with this model."),
        ({"size": "768"}, "size", "Size must be 512 with this model."),
        ({"variations": "9"}, "variations", "Variations must be between 1 and 4."),
        ({"strength": "0.1"}, "strength", "Strength must be between 0.25 and 1."),
    ],
)
def test_out_of_the_presets_range_comes_back_as_a_form_error(me, turbo_product, overrides, field, message):
    response = post(me, turbo_product, **overrides)
    assert response.status_code == 422
    html = response.content.decode()
    # Under its own field (or the note that stands for a field the preset does not offer).
    block = next(chunk for chunk in re.split(r'<div class="field(?=[ "])', html) if message in chunk)
    assert f'id="id_{field}"' in block or f'data-missing="{field}"' in block
    assert 'field-error" role="alert"' in block
    assert not GenerationRequest.objects.exists()


def test_the_same_values_are_fine_for_an_sd21_product(me, sd21_product):
    response = post(me, sd21_product, steps="8", guidance_scale="7.5", size="768")
    assert response.status_code == 201, response.content.decode()[:2000]
    g = GenerationRequest.objects.get()
    # 768 px' worth in the shape of the T-shirt's 250 x 300 mm print area.
    assert (g.preset, g.steps, g.guidance_scale, g.width, g.height) == ("sd21", 8, 7.5, 704, 832)
    assert g.pixel_budget == 768


def test_blank_sliders_take_the_presets_defaults(me, turbo_product):
    response = post(me, turbo_product, steps="", size="", variations="")
    assert response.status_code == 201
    g = GenerationRequest.objects.get()
    assert (g.preset, g.steps, g.guidance_scale, g.pixel_budget, g.width) == ("sd-turbo", 1, 0.0, 512, 448)


def test_sd_turbo_with_a_reference_picture_and_untouched_sliders_is_accepted(me, turbo_product):
    """Range inputs always submit their value: the untouched steps slider (SD-Turbo's 1) with the
    default strength (0.5) would leave img2img no step, so it counts as "no choice" and the recipe's
    img2img default (enough steps for the strength, as in the model card: 2 at 0.5) applies."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import png

    reference = SimpleUploadedFile("reference.png", png(), content_type="image/png")
    response = post(
        me, turbo_product, steps="1", strength="0.5", size="512", variations="1", reference_image=reference
    )
    assert response.status_code == 201, response.content.decode()[:2000]
    g = GenerationRequest.objects.get()
    assert (g.preset, g.steps, g.strength, bool(g.reference_sha256)) == ("sd-turbo", 2, 0.5, True)
    # A value the customer chose is theirs: refused in the recipe's words, never changed.
    reference.seek(0)
    response = post(me, turbo_product, steps="2", strength="0.25", reference_image=reference)
    assert response.status_code == 422
    assert "steps × strength must be at least 1" in response.content.decode()


def test_the_form_parses_types_only(me, sd21_product):
    response = post(me, sd21_product, steps="many")
    assert response.status_code == 422
    assert "Enter a whole number." in response.content.decode()
    assert not GenerationRequest.objects.exists()


# --- the job card ---------------------------------------------------------------------------------


def test_the_job_card_shows_the_preset_and_its_scheduler(me, turbo_product):
    response = post(me, turbo_product)
    assert response.status_code == 201
    html = response.content.decode()
    assert f"Model: {TURBO_LABEL}" in html
    assert "Scheduler: EulerDiscreteScheduler (trailing timesteps)" in html
    g = GenerationRequest.objects.get()
    page = me.get(reverse("personalization:job", args=[g.pk])).content.decode()
    assert f"Model: {TURBO_LABEL}" in page
