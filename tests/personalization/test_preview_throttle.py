"""The live text previews are rate limited (PERSONALIZATION["DESIGN_PREVIEW_RATE"], per account or
visitor; studio and API count together): each composes a mockup, so an anonymous script must not
be able to keep the web tier's CPUs busy. Over the limit: 429 with Retry-After, never a 500."""

import pytest
from django.urls import reverse

from tests.personalization.limits_clock import start_at_window_edge
from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture
def two_a_minute(settings, monkeypatch):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DESIGN_PREVIEW_RATE": "2/min"}
    start_at_window_edge(monkeypatch)  # the windows are aligned to the clock: all in one minute


def studio_preview(client, image, text="Ada"):
    return client.post(
        reverse("personalization:image_preview", args=[image.pk]), {"text": text}, HTTP_HX_REQUEST="true"
    )


def test_the_studio_preview_answers_429_with_a_card_over_the_limit(me, stranger, two_a_minute):
    image = finished_design(mug(brand_with_fonts()))
    assert [studio_preview(me, image).status_code for _ in range(2)] == [200, 200]
    refused = studio_preview(me, image)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many previews" in refused.content.decode()
    # Bad text counts too (the work is done before it is refused), and the limit is per visitor.
    other = finished_design(mug(brand_with_fonts(), slug="other-mug"), key="visitor-stranger")
    assert studio_preview(stranger, other).status_code == 200


def test_no_limit_when_the_rate_is_none(me, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DESIGN_PREVIEW_RATE": None}
    image = finished_design(mug(brand_with_fonts()))
    assert {studio_preview(me, image).status_code for _ in range(4)} == {200}
