"""The studio's throttle card in real headless Chromium: htmx puts it at the top of the form (what
was typed stays), says when to try again, and the form's next submit replaces it (never two)."""

import re

import pytest

from personalization.models import GenerationRequest
from tests.factories import make_product
from tests.personalization.limits_clock import start_at_window_edge

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]
DESCRIPTION = "a red fox curled up asleep in fresh snow"


def test_a_throttled_submit_shows_a_card_in_the_form(live_server, page, settings, monkeypatch):
    start_at_window_edge(monkeypatch)
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {
        **rest["DEFAULT_THROTTLE_RATES"],
        "generation_submit_user": "1/day",
        "generation_submit_ip": "100/day",
    }
    settings.REST_FRAMEWORK = rest
    tee = make_product(slug="fox-tee", colors=(("White", "#FFFFFF"), ("Navy", "#1F2A44")))

    page.goto(f"{live_server.url}/personalize/?product={tee.slug}")
    page.wait_for_selector('input[name="base_color"][value="Navy"]')
    page.check('input[name="base_color"][value="Navy"]')
    page.fill("#id_description", DESCRIPTION)
    page.get_by_role("button", name="Generate").click()
    page.locator(".job-card").wait_for()
    assert GenerationRequest.objects.count() == 1

    page.get_by_role("button", name="Generate").click()
    card = page.locator("#studio-form .throttle-card")
    card.wait_for()
    assert re.search(r"Please wait \d+ hours?", card.inner_text())
    assert page.locator("#id_description").input_value() == DESCRIPTION  # the form was kept
    assert page.locator(".job-card").count() == 1  # the first design stays in its slot

    card.evaluate("node => node.dataset.first = 'yes'")
    with page.expect_response(lambda response: response.status == 429):
        page.get_by_role("button", name="Generate").click()
    page.wait_for_function("!document.querySelector('[data-first]')")  # the old card is gone...
    card.wait_for()
    assert card.count() == 1  # ...and one new card took its place
    assert GenerationRequest.objects.count() == 1
    # The browser logs each 429 it receives; anything else would be a real error.
    assert [e for e in page.js_errors if "status of 429" not in e] == []
