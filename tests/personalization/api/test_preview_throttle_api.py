"""The API's live text preview shares the studio's rate limit (DESIGN_PREVIEW_RATE, per account):
429 with Retry-After and the API's error body over it."""

import pytest

from tests.personalization.limits_clock import start_at_window_edge
from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture
def two_a_minute(settings, monkeypatch):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DESIGN_PREVIEW_RATE": "2/min"}
    start_at_window_edge(monkeypatch)  # the windows are aligned to the clock: all in one minute


def test_the_api_preview_shares_the_limit_per_account(api, user, two_a_minute):
    image = finished_design(mug(brand_with_fonts()), key="", customer=user)
    url = f"/api/v1/generations/{image.request_id}/images/0/preview/"
    body = {"text_layer": {"text": "Ada"}}
    assert [api.post(url, body, format="json").status_code for _ in range(2)] == [200, 200]
    refused = api.post(url, body, format="json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "throttled" in refused.json()["detail"].lower()
