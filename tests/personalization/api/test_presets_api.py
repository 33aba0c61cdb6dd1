"""The API follows the product's model preset: GET presets/, a product's model_preset, out-of-range
submits answered 400 with the Recipe's message, and the preset of a generation."""

import pytest
import yaml
from django.core.management import call_command

from personalization.models import GenerationRequest
from tests.factories import make_brand, make_product

PRESETS = "/api/v1/presets/"
GENERATIONS = "/api/v1/generations/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def turbo(catalogue):
    """A product of the catalogue's brand that chooses SD-Turbo itself."""
    return make_product(brand=catalogue["brand"], name="Quick mug", slug="quick-mug", model_preset="sd-turbo")


def body(product: str = "harbour-tee", **overrides) -> dict:
    return {"product": product, "base_color": "White", "description": "a lighthouse at dawn", **overrides}


# --- GET presets/ ---------------------------------------------------------------------------------


def test_presets_lists_the_three_presets_with_their_ranges(anon):
    response = anon.get(PRESETS)  # public: no token
    assert response.status_code == 200
    found = {preset["name"]: preset for preset in response.json()}
    assert list(found) == ["sd21", "sd21-base", "sd-turbo"]

    sd21 = found["sd21"]
    assert sd21["label"] == "Stable Diffusion 2.1 (768-v)"
    assert sd21["default"] is True
    assert (sd21["scheduler"], sd21["prediction_type"]) == ("dpmsolver++-2m", "v_prediction")
    assert sd21["scheduler_label"] == "DPMSolverMultistepScheduler (DPM++ 2M)"
    assert (sd21["native_size"], sd21["sizes"], sd21["default_size"]) == (768, [512, 768], 768)
    assert sd21["steps"] == {"min": 1, "max": 100, "default": 25}
    assert sd21["guidance_scale"] == {"min": 0.0, "max": 20.0, "default": 7.5}
    assert sd21["strength"] == {"min": 0.05, "max": 1.0, "default": 0.6}
    assert sd21["variations"] == {"min": 1, "max": 4, "default": 1}
    assert sd21["capabilities"] == {"img2img": True, "negative_prompt": True, "lora": True}

    base = found["sd21-base"]
    assert (base["native_size"], base["sizes"], base["prediction_type"]) == (512, [512], "epsilon")

    turbo = found["sd-turbo"]
    assert turbo["default"] is False
    assert turbo["scheduler"] == "euler-trailing"
    assert turbo["steps"] == {"min": 1, "max": 4, "default": 1}
    assert turbo["guidance_scale"] == {"min": 0.0, "max": 0.0, "default": 0.0}
    assert turbo["strength"]["min"] == 0.25
    assert turbo["capabilities"] == {"img2img": True, "negative_prompt": False, "lora": False}
    assert "hub_id" not in turbo  # where the weights live is the server's business


def test_presets_show_the_shops_overrides_and_default(anon, settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "DEFAULT_PRESET": "sd-turbo",
        "PRESET_OVERRIDES": {"sd21": {"max_steps": 50, "sizes": (512,)}},
    }
    found = {preset["name"]: preset for preset in anon.get(PRESETS).json()}
    assert found["sd21"]["steps"]["max"] == 50
    assert (found["sd21"]["sizes"], found["sd21"]["default_size"]) == ([512], 512)
    assert [name for name, preset in found.items() if preset["default"]] == ["sd-turbo"]


def test_presets_is_read_only(api):
    assert api.post(PRESETS, {}, format="json").status_code == 405


# --- a product's model_preset ---------------------------------------------------------------------


def test_products_name_their_effective_preset(anon, catalogue, turbo):
    by_brand = make_product(brand=make_brand(model_preset="sd21-base"), slug="base-tee")
    overridden = make_product(brand=by_brand.brand, slug="turbo-tee", model_preset="sd-turbo")
    presets = {p["slug"]: p["model_preset"] for p in anon.get("/api/v1/products/").json()["results"]}
    assert presets == {
        "harbour-tee": "sd21",  # neither chooses: the shop's default
        "quick-mug": "sd-turbo",  # the product's own choice
        "base-tee": "sd21-base",  # its brand's
        "turbo-tee": "sd-turbo",  # the product wins over its brand
    }
    detail = anon.get(f"/api/v1/products/{overridden.slug}/").json()
    assert detail["model_preset"] == "sd-turbo"


# --- submitting: ranges come back from the service as 400 field errors ----------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"steps": 8}, "steps", "Steps must be between 1 and 4."),
        ({"guidance_scale": 7.5}, "guidance_scale", "Guidance must be 0 with this model."),
        ({"size": 768}, "size", "Size must be 512 with this model."),
        ({"variations": 5}, "variations", "Variations must be between 1 and 4."),
        ({"strength": 0.1}, "strength", "Strength must be between 0.25 and 1."),
    ],
)
def test_out_of_the_presets_range_answers_400_with_the_recipes_message(api, turbo, overrides, field, message):
    response = api.post(GENERATIONS, body("quick-mug", **overrides), format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field] == [message]
    assert not GenerationRequest.objects.exists()


def test_the_same_values_are_accepted_for_an_sd21_product(api, catalogue, turbo):
    response = api.post(GENERATIONS, body(steps=8, guidance_scale=7.5, size=768), format="json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["preset"], data["steps"], data["guidance_scale"], data["size"]) == ("sd21", 8, 7.5, 768)


def test_an_sd21_product_refuses_what_sd21_cannot_do(api, catalogue):
    response = api.post(GENERATIONS, body(steps=101, size=640), format="json")
    assert response.status_code == 400
    assert response.json()["steps"] == ["Steps must be between 1 and 100."]
    assert "size" in response.json()
    assert not GenerationRequest.objects.exists()


def test_types_are_still_checked_by_the_serializer(api, turbo):
    response = api.post(GENERATIONS, body("quick-mug", steps="many", size=[512]), format="json")
    assert response.status_code == 400
    assert {"steps", "size"} <= set(response.json())


def test_a_generation_shows_its_preset(api, turbo):
    response = api.post(GENERATIONS, body("quick-mug"), format="json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["preset"], data["steps"], data["guidance_scale"], data["size"]) == ("sd-turbo", 1, 0.0, 512)
    assert api.get(f"{GENERATIONS}{data['id']}/").json()["preset"] == "sd-turbo"


# --- the schema ---------------------------------------------------------------------------------


def test_schema_documents_presets_and_that_ranges_follow_them(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    listing = schema["paths"]["/api/v1/presets/"]["get"]
    assert listing["summary"] and "model_preset" in listing["description"]
    assert listing.get("security", []) in ([], [{}])  # public
    assert "Preset" in schema["components"]["schemas"]
    create = schema["components"]["schemas"]["GenerationCreateRequest"]
    assert "model preset" in create["description"]
    for name in ("steps", "guidance_scale", "strength", "size", "variations"):
        field = create["properties"][name]
        assert "maximum" not in field and "minimum" not in field and "enum" not in field, name
        assert "GET /api/v1/presets/" in field["description"], name
    generation = schema["components"]["schemas"]["Generation"]["properties"]
    assert generation["preset"]["readOnly"] is True
    assert "model_preset" in schema["components"]["schemas"]["Product"]["properties"]
