"""The customer's text in real headless Chromium: typing in the add-to-cart form's text fields
swaps in the mockup with the text and its print check (htmx, no reload); a text that cannot be
printed puts its message beside the field; the cart keeps the text that was previewed."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_live_preview_inline_errors_and_the_cart(live_server, page):
    image = finished_design(mug(brand_with_fonts()), key="visitor-browser")
    session = SessionStore()
    session["visitor_key"] = "visitor-browser"
    session.create()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/personalize/jobs/{image.request_id}/")
    page.get_by_text("Add text or a monogram").click()
    preview = page.locator(f"#text-preview-{image.pk}")
    error = page.locator(f"#text-{image.pk}-text-error")

    with page.expect_response(lambda r: "/preview/" in r.url and r.status == 200):
        page.fill(f"#text-{image.pk}-text", "Ada")
    preview.locator('img[src^="data:image/png;base64,"]').wait_for()
    assert preview.locator("[data-preflight]").count() == 1
    assert page.url.endswith(f"/jobs/{image.request_id}/")  # no reload

    with page.expect_response(lambda r: "/preview/" in r.url and r.status == 422):
        page.fill(f"#text-{image.pk}-text", "zebra")
    page.wait_for_function(
        f"document.getElementById('text-{image.pk}-text-error').textContent.includes('zebra')"
    )
    assert preview.locator("img").count() == 0

    with page.expect_response(lambda r: "/preview/" in r.url and r.status == 200):
        page.fill(f"#text-{image.pk}-text", "Ada & Max")
    page.wait_for_function(f"document.getElementById('text-{image.pk}-text-error').textContent === ''")
    assert error.inner_text() == ""
    with page.expect_response(lambda r: "/preview/" in r.url and r.status == 200):
        page.locator(f"#text-{image.pk}-color-error").locator("..").locator('input[value="#ff6f61"]').check()

    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{live_server.url}/cart/")
    assert "Text “Ada & Max” in Fredoka One, Coral" in page.content().replace("&amp;", "&")
    assert [e for e in page.js_errors if "status of 422" not in e] == []
