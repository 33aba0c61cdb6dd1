"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against live_server."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "tour"
DOCS_TOUR = ROOT / "docs" / "tour"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser_site(settings, monkeypatch):
    """Plain http on localhost and static files without a manifest."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


class Tour:
    """Screenshots of each step in test-artifacts/tour/; UPDATE_TOUR=1 also copies them to docs/tour/."""

    def __init__(self, page):
        self.page = page
        self.shots: list[Path] = []
        self.folder = ARTIFACTS
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # a sticky header would be painted mid-page
        self.page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path

    def publish(self) -> None:
        if os.environ.get("UPDATE_TOUR") != "1":
            return
        DOCS_TOUR.mkdir(parents=True, exist_ok=True)
        for path in self.shots:
            if path.name[:2] in {"01", "02", "03", "04", "05", "06"}:
                shutil.copyfile(path, DOCS_TOUR / path.name)


@pytest.fixture
def page(browser_site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        page.on("console", lambda msg: msg.type == "error" and page.js_errors.append(msg.text))
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def tour(page):
    return Tour(page)
