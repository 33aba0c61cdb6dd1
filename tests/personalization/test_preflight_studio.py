"""The print check in the studio: the partial renders a preflight's figures and state, and each
finished variation shows its own."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from personalization.artwork import ArtworkSpec
from personalization.models import GenerationRequest
from personalization.preflight import preflight
from personalization.specs import PrintAreaSpec
from tests.factories import make_product
from tests.personalization.test_views import HX, generation

STRIP = PrintAreaSpec(width_mm=200, height_mm=85, dpi=300, min_dpi=150, safe_margin_mm=5)


def render(design_size, *, low_resolution="upscale"):
    result = preflight(
        design_size=design_size,
        spec=ArtworkSpec(print_area=STRIP),
        low_resolution=low_resolution,
        bleed_mm=3.0,
        upscaler_label="Lanczos",
    )
    return render_to_string("personalization/_preflight.html", {"preflight": result})


def test_a_design_that_meets_the_minimum_is_green():
    html = render((2433, 1075))
    assert 'data-preflight="ok"' in html and "Ready to print" in html
    assert "200 × 85 mm (7.9 × 3.3 in)" in html
    assert "300 dpi at print size — minimum 150" in html  # 299.99, rounded
    assert "2433 × 1075 px → 2433 × 1075 px at 300 dpi" in html
    assert "<li>" not in html


def test_below_the_minimum_and_upscaled_is_amber_and_says_so():
    html = render((1152, 512))
    assert 'data-preflight="warning"' in html and "Prints, with a note" in html
    assert "142 dpi at print size — minimum 150" in html
    assert "the shop enlarges it with Lanczos before printing" in html


def test_below_the_minimum_and_blocked_is_red_and_says_why():
    html = render((1152, 512), low_resolution="block")
    assert 'data-preflight="blocked"' in html and "Cannot be ordered at this size" in html
    assert "and the shop does not print below its minimum." in html


def test_nothing_renders_without_a_preflight():
    assert render_to_string("personalization/_preflight.html", {"preflight": None}).strip() == ""


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_each_finished_variation_shows_its_print_check(me):
    product = make_product(print_width_mm=200, print_height_mm=85)
    g = generation(product, status=GenerationRequest.Status.SUCCEEDED, images=2)
    html = me.get(reverse("personalization:job", args=[g.pk]), **HX).content.decode()
    # A 64 px square covering 206 x 91 mm: 64 px over 8.11 in = 7.89 dpi across (the height is
    # cropped); the brand upscales by default.
    assert html.count('aria-label="Print check"') == 2
    assert html.count("7 dpi at print size — minimum 150") == 2
    assert "200 × 85 mm (7.9 × 3.3 in)" in html
    assert "the shop enlarges it with Lanczos" in html
