"""The API docs in real headless Chromium with every request to another host blocked: Swagger UI
lists the operations and ReDoc renders the API, from the site's own files alone."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def offline(page, live_server):
    """Requests to the live server go through; any other is aborted and recorded."""
    site = urlsplit(live_server.url)
    attempted: list[str] = []

    def only_the_site(route):
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (site.scheme, site.netloc):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_site)
    return attempted


def test_swagger_ui_lists_the_operations_offline(live_server, page, offline):
    page.goto(f"{live_server.url}/api/docs/")
    operation = page.locator('.opblock-summary-path[data-path="/api/v1/generations/"]').first
    operation.wait_for()
    assert "generations" in operation.inner_text()
    assert page.locator(".opblock").count() > 5  # the whole API, not one stray block
    assert offline == []
    assert page.js_errors == []


def test_redoc_renders_the_api_offline(live_server, page, offline):
    page.goto(f"{live_server.url}/api/redoc/")
    page.locator("h1", has_text="AI Personalization API").wait_for()
    page.get_by_text("/api/v1/generations/").first.wait_for(state="attached")
    assert offline == []
    # The page's Content-Security-Policy (templates/api/redoc.html) stops ReDoc's one outside picture,
    # the Redocly logo, before any request; the browser says so, and says nothing else.
    assert [e for e in page.js_errors if "cdn.redoc.ly/redoc/logo-mini.svg" not in e] == []
