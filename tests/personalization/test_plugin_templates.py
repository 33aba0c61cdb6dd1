"""The plugin's own base template and assets: a host that overrides nothing still gets working
studio pages (htmx, its 409/422/429 handling and the CSRF header ship with the plugin)."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from personalization.services import generation_request_create
from tests.factories import make_product, visitor

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def no_host_templates(settings):
    """The project's templates/ folder (with its personalization/base.html override and the shop's
    base.html) is off the template path: only the apps' templates are found."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]


@pytest.fixture
def me():
    return visitor(Client(), "visitor-me")


def _assets_in(html: str) -> None:
    assert '<script src="/static/personalization/htmx.min.js" defer></script>' in html
    assert '<script src="/static/personalization/studio.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/personalization/studio.css">' in html
    token = html.split('<meta name="personalization-csrf-token" content="')[1].split('"')[0]
    assert len(token) >= 32


def test_studio_renders_with_the_plugin_default_base_when_the_host_overrides_nothing(no_host_templates, me):
    make_product(slug="classic-tee")
    response = me.get(reverse("personalization:studio"))
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "personalization/base.html" in names and "base.html" not in names
    assert response.templates[names.index("personalization/base.html")].origin.name.endswith(
        "personalization/templates/personalization/base.html"
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<!doctype html>")
    assert "<title>Design studio</title>" in html
    assert 'id="studio-form"' in html and 'hx-post="/personalize/"' in html
    assert "site-header" not in html  # the shop's layout is not used
    _assets_in(html)


def test_job_page_and_fragment_with_the_plugin_default_base(no_host_templates, me):
    product = make_product(slug="classic-tee")
    g = generation_request_create(
        product=product, base_color="White", description="a fox in the snow", session_key="visitor-me"
    )
    page = me.get(reverse("personalization:job", args=[g.pk])).content.decode()
    assert "<title>Your design</title>" in page and f'id="job-{g.pk}"' in page
    _assets_in(page)
    fragment = me.get(reverse("personalization:job", args=[g.pk]), **HX).content.decode()
    assert f'id="job-{g.pk}"' in fragment
    assert "<html" not in fragment and "personalization/htmx.min.js" not in fragment


def test_the_shop_override_puts_the_studio_in_the_shop_layout_with_the_plugin_assets(me):
    make_product(slug="classic-tee")
    response = me.get(reverse("personalization:studio"))
    names = [t.name for t in response.templates]
    assert names.index("personalization/base.html") < names.index("base.html")
    html = response.content.decode()
    assert "site-header" in html and "<title>Design studio · Print Studio</title>" in html
    _assets_in(html)
    assert html.count("personalization/htmx.min.js") == 1
    assert html.index("/static/css/shop.css") < html.index("/static/personalization/studio.css")


def test_the_shop_pages_without_the_studio_load_no_htmx(client):
    html = client.get(reverse("shop:catalogue")).content.decode()
    assert "htmx.min.js" not in html


def test_the_bundled_script_configures_htmx_for_the_studio():
    htmx = finders.find("personalization/htmx.min.js")
    script = finders.find("personalization/studio.js")
    assert htmx and "personalization/static/" in htmx and 'version:"2.' in Path(htmx).read_text()
    source = Path(script).read_text()
    # 409 (conflict), 422 (bad input) and 429 (throttled) swap; other 4xx/5xx stay errors.
    assert '{ code: "4(09|22|29)", swap: true, error: false }' in source
    assert '{ code: "[45]..", swap: false, error: true }' in source
    assert "htmx.config.responseHandling" in source
    assert 'event.detail.headers["X-CSRFToken"]' in source and "personalization-csrf-token" in source
