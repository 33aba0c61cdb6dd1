"""Demo weights per model preset (``PERSONALIZATION["DEMO_PRESETS"]``): the site banner shows while a
preset that designs are made with runs on demo weights, and the studio says so next to the model."""

import json
import secrets
import sys

import pytest
from django.urls import reverse

from personalization.conf import demo_presets
from personalization.context_processors import demo_presets_in_use
from tests.factories import make_brand, make_product
from tests.test_settings import _env, _run

pytestmark = pytest.mark.django_db
BANNER = "Demo model: random weights — pictures are noise."
STUDIO_NOTE = "(demo model: random weights, pictures are noise)"


@pytest.fixture
def demo(settings):
    """Set DEMO_PRESETS (and the default preset) for one test."""

    def apply(names, *, default="sd21", **more):
        settings.PERSONALIZATION = {
            **settings.PERSONALIZATION,
            "DEMO_PRESETS": names,
            "DEFAULT_PRESET": default,
            "TRAINED_DEMO_PRESETS": (),
            **more,
        }

    return apply


def test_demo_presets_follow_the_setting_or_the_older_demo_model(demo):
    demo(["sd-turbo"])
    assert demo_presets() == {"sd-turbo"}
    demo(None, DEMO_MODEL=True)
    assert demo_presets() == {"sd21", "sd21-base", "sd-turbo"}
    demo(None, DEMO_MODEL=False)
    assert demo_presets() == frozenset()
    demo([])
    assert demo_presets() == frozenset()


def test_no_banner_while_no_preset_in_use_is_a_demo_one(client, demo):
    """Real sd21 weights, demo sd-turbo weights that no brand or product chooses: no banner."""
    demo(["sd-turbo"])
    make_product()
    assert demo_presets_in_use() == []
    for url in (
        reverse("shop:catalogue"),
        reverse("personalization:studio"),
        reverse("personalization:gallery"),
    ):
        assert BANNER not in client.get(url).content.decode()


def test_the_banner_shows_when_a_product_uses_a_demo_preset(client, demo):
    demo(["sd-turbo"])
    make_product(model_preset="sd-turbo")
    assert demo_presets_in_use() == ["sd-turbo"]
    for url in (reverse("shop:catalogue"), reverse("personalization:studio")):
        html = client.get(url).content.decode()
        assert BANNER in html and "On demo weights: sd-turbo." in html


def test_the_banner_shows_when_a_brand_uses_a_demo_preset(client, demo):
    demo(["sd21-base", "sd-turbo"])
    make_product(brand=make_brand(model_preset="sd21-base"))
    assert demo_presets_in_use() == ["sd21-base"]
    assert "On demo weights: sd21-base." in client.get(reverse("shop:catalogue")).content.decode()


def test_the_banner_shows_when_the_default_preset_is_a_demo_one(client, demo):
    demo(["sd21-base"], default="sd21-base")
    assert demo_presets_in_use() == ["sd21-base"]
    assert BANNER in client.get(reverse("shop:catalogue")).content.decode()


def test_the_studio_says_when_the_products_model_is_a_demo_one(client, demo):
    demo(["sd-turbo"])
    turbo = make_product(model_preset="sd-turbo")
    real = make_product(model_preset="sd21")
    studio = reverse("personalization:studio")
    html = client.get(studio, {"product": turbo.slug}).content.decode()
    assert STUDIO_NOTE in html.split('id="preset-fields"')[1].split("</p>")[0]
    html = client.get(studio, {"product": real.slug}).content.decode()
    assert 'id="preset-fields"' in html and STUDIO_NOTE not in html
    # The fragment the studio swaps in when the customer picks another product says it too.
    fragment = client.get(
        reverse("personalization:product_fields"), {"product": turbo.slug}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert STUDIO_NOTE in fragment


@pytest.mark.parametrize(
    ("env", "demo_names", "demo_model"),
    [
        ({}, ["sd21", "sd21-base", "sd-turbo"], True),
        ({"PERSONALIZATION_MODEL": "stabilityai/stable-diffusion-2-1"}, ["sd21-base", "sd-turbo"], False),
        (
            {"PERSONALIZATION_MODEL_SD_TURBO": "stabilityai/sd-turbo"},
            ["sd21", "sd21-base"],
            True,
        ),
    ],
    ids=["no weights", "real sd21", "real sd-turbo"],
)
def test_settings_put_the_presets_without_weights_on_demo(env, demo_names, demo_model):
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "p = settings.PERSONALIZATION; print(json.dumps([p['DEMO_PRESETS'], p['DEMO_MODEL']]))"
    )
    base = {
        "PERSONALIZATION_MODEL": "",
        "PERSONALIZATION_MODEL_SD21_BASE": "",
        "PERSONALIZATION_MODEL_SD_TURBO": "",
    }
    result = _run([sys.executable, "-c", code], _env(SECRET_KEY=secrets.token_urlsafe(64), **{**base, **env}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [demo_names, demo_model]


TRAINED_BANNER = "Demo model: a small model trained on simple patterns."
TRAINED_NOTE = "(demo model: trained on simple patterns)"


def test_a_preset_on_the_trained_demo_model_is_named_for_what_it_draws(client, demo):
    demo(["sd21", "sd-turbo"], TRAINED_DEMO_PRESETS=["sd21"])
    html = client.get(reverse("shop:catalogue")).content.decode()
    assert TRAINED_BANNER in html and BANNER not in html
    studio = reverse("personalization:studio")
    html = client.get(studio, {"product": make_product(model_preset="sd21").slug}).content.decode()
    note = html.split('id="preset-fields"')[1].split("</p>")[0]
    assert TRAINED_NOTE in note and STUDIO_NOTE not in note
    html = client.get(studio, {"product": make_product(model_preset="sd-turbo").slug}).content.decode()
    assert STUDIO_NOTE in html.split('id="preset-fields"')[1].split("</p>")[0]
    # A random-weight preset in use too: the banner says pictures are noise.
    make_brand(model_preset="sd-turbo")
    from django.core.cache import cache

    from personalization.context_processors import CHOSEN_PRESETS_KEY

    cache.delete(CHOSEN_PRESETS_KEY)
    assert BANNER in client.get(reverse("shop:catalogue")).content.decode()


@pytest.mark.parametrize(
    ("env", "trained", "model_is_demo"),
    [({}, ["sd21"], True), ({"PERSONALIZATION_MODEL": "stabilityai/stable-diffusion-2-1"}, [], False)],
    ids=["no weights", "real sd21"],
)
def test_settings_put_sd21_on_the_trained_demo_model_without_weights(env, trained, model_is_demo):
    from personalization.interface import DEMO_MODEL_DIR

    if not (DEMO_MODEL_DIR / "model_index.json").exists():
        pytest.skip("the demo model is not trained")
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "p = settings.PERSONALIZATION; print(json.dumps([p['TRAINED_DEMO_PRESETS'], p['MODELS']['sd21'], "
        "p['PRESET_OVERRIDES'].get('sd21')]))"
    )
    base = {"PERSONALIZATION_MODEL": ""}
    result = _run([sys.executable, "-c", code], _env(SECRET_KEY=secrets.token_urlsafe(64), **{**base, **env}))
    assert result.returncode == 0, result.stderr
    names, model, overrides = json.loads(result.stdout.strip().splitlines()[-1])
    assert names == trained
    assert (model == str(DEMO_MODEL_DIR)) is model_is_demo
    if model_is_demo:
        assert overrides == {"sizes": [128, 256], "default_size": 128}
