"""The studio's sliders follow the product's model preset in real headless Chromium: switching to an
SD-Turbo product swaps in its sliders (htmx out-of-band swap), a product of the same preset keeps the
customer's values, and a value outside the preset's range comes back as a field error."""

import pytest

from personalization.models import GenerationRequest
from tests.factories import make_product

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_the_sliders_follow_the_chosen_product(live_server, page):
    tee = make_product(name="Classic tee", slug="classic-tee")
    make_product(name="Everyday hoodie", slug="everyday-hoodie", colors=(("Oat", "#E8DCC4"),))  # sd21 too
    make_product(name="Quick mug", slug="quick-mug", model_preset="sd-turbo")

    page.goto(f"{live_server.url}/personalize/?product={tee.slug}")
    steps = page.locator("#id_steps")
    assert (steps.get_attribute("max"), steps.input_value()) == ("100", "25")
    assert page.locator("#id_guidance_scale").is_visible()
    page.fill("#id_steps", "40")

    # Same preset: the sliders are swapped but keep what the customer set.
    page.select_option("#id_product", "everyday-hoodie")
    page.wait_for_selector('input[name="base_color"][value="Oat"]')
    assert page.locator("#id_steps").input_value() == "40"

    # SD-Turbo: its bounds and defaults, no guidance slider, its label.
    page.select_option("#id_product", "quick-mug")
    page.wait_for_selector('#preset-fields[data-preset="sd-turbo"]')
    assert (page.locator("#id_steps").get_attribute("max"), page.locator("#id_steps").input_value()) == (
        "4",
        "1",
    )
    assert page.locator("#id_guidance_scale").count() == 0
    assert page.get_by_text("SD-Turbo runs without guidance").is_visible()
    assert page.get_by_text("SD-Turbo (SD 2.1 distilled, 1-4 steps)").is_visible()

    # A value the range input cannot hold, set by a script: the service answers under the field.
    page.fill("#id_description", "a lighthouse at dawn")
    page.evaluate(
        "() => { const s = document.getElementById('id_steps'); s.type = 'number'; s.value = '9'; }"
    )
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("Steps must be between 1 and 4.").wait_for()
    assert not GenerationRequest.objects.exists()
    assert [e for e in page.js_errors if "status of 422" not in e] == []  # the 422 is the answer
