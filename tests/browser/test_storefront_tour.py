"""The storefront tour in real headless Chromium against live_server, with a REAL GPU worker
process and the tiny random-weight pipeline (tests/worker_fixtures.py): no mocks.

Screenshots of each step land in test-artifacts/tour/; `UPDATE_TOUR=1` copies the numbered ones
to docs/tour/ (linked from docs/STOREFRONT.md)."""

import time

import pytest

from brand_guides.models import MaterialPreset
from personalization.models import GenerationRequest, LineDesign
from shop.models import Order
from tests.factories import make_brand, make_category, make_material, make_product, make_style

pytestmark = [pytest.mark.browser, pytest.mark.worker]

STEPS = 6


def catalogue():
    brand = make_brand(
        name="Northwind",
        palette=(
            ("Fjord", "#1D4E89", "primary"),
            ("Birch", "#F2EEE3", "secondary"),
            ("Ember", "#D9593D", "accent"),
        ),
        # The demo model paints noise, which never matches a palette: no automatic re-seed here.
        min_consistency_score=0,
    )
    cotton = make_material(name="Organic cotton", slug="organic-cotton", finish=MaterialPreset.Finish.MATTE)
    apparel = make_category(name="Apparel", slug="apparel", position=1)
    home = make_category(name="Home", slug="home", position=2)
    tee = make_product(
        brand=brand, category=apparel, name="Classic tee", slug="classic-tee", materials=[cotton],
        colors=(("White", "#FFFFFF"), ("Navy", "#1F2A44"), ("Sage", "#A3B18A")),
        description="Heavyweight organic cotton tee with a generous chest print.",
    )  # fmt: skip
    make_product(
        brand=brand, category=apparel, name="Everyday hoodie", slug="everyday-hoodie", product_type="hoodie",
        price="49.00", colors=(("Charcoal", "#36454F"), ("Oat", "#E8DCC4")),
    )  # fmt: skip
    make_product(
        brand=brand, category=home, name="Stoneware mug", slug="stoneware-mug", product_type="mug",
        price="16.00", print_width_mm=200, print_height_mm=90,
        colors=(("Cream", "#F5F0E6"), ("Black", "#111111")),
        mockup_box_left=0.2, mockup_box_top=0.3, mockup_box_width=0.5, mockup_box_height=0.35,
    )  # fmt: skip
    make_style(
        name="Watercolour", slug="watercolour", prompt_template="delicate watercolour painting of {subject}"
    )
    make_style(
        name="Bold linocut", slug="linocut", prompt_template="bold two-colour linocut print of {subject}"
    )
    return tee


def loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def test_storefront_tour(live_server, gpu_worker, page, tour):
    tee = catalogue()
    url = live_server.url

    # The catalogue and the product page.
    page.goto(url + "/")
    assert page.get_by_role("heading", name="Apparel").is_visible()
    assert page.get_by_text("Demo model: random weights — pictures are noise.").is_visible()
    tour.shot("00-catalogue")
    page.get_by_role("link", name="Classic tee").click()
    page.wait_for_url(f"**/products/{tee.slug}/")
    tour.shot("00-product")
    page.get_by_role("link", name="Personalize").click()
    page.wait_for_url(f"**/personalize/?product={tee.slug}")

    # 01: the studio, filled in. Colour and material follow the product (hx-get swap).
    assert page.locator("#id_product").input_value() == tee.slug
    page.select_option("#id_product", "stoneware-mug")
    page.wait_for_selector('input[name="base_color"][value="Cream"]')
    page.select_option("#id_product", tee.slug)
    page.wait_for_selector('input[name="base_color"][value="Navy"]')
    page.check('input[name="base_color"][value="Navy"]')
    page.fill("#id_description", "a red fox curled up asleep in fresh snow under the northern lights")
    page.select_option("#id_style", "watercolour")
    page.select_option("#id_material", "organic-cotton")
    page.fill("#id_steps", str(STEPS))
    page.click("[data-random-seed]")
    seed = page.locator("#id_seed").input_value()
    assert seed.isdigit()
    page.select_option("#id_variations", "2")
    tour.shot("01-studio")

    # 02: generate; the job card swaps in and polls every second.
    page.get_by_role("button", name="Generate").click()
    card = page.locator(".job-card")
    card.wait_for()
    assert card.get_attribute("hx-trigger") == "every 1s"
    request = GenerationRequest.objects.get()
    assert (request.seed, request.steps, request.variations, request.base_color_name) == (
        int(seed),
        STEPS,
        2,
        "Navy",
    )
    seen: list[int] = []
    shot_progress = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = card.get_attribute("data-status")
        bar = page.locator('.job-card [role="progressbar"]')
        if status == "running" and bar.count():
            seen.append(int(bar.get_attribute("aria-valuenow")))
            if not shot_progress and seen[-1] > 0:
                tour.shot("02-progress")
                shot_progress = True
        if status in ("succeeded", "failed", "rejected", "cancelled"):
            break
        page.wait_for_timeout(250)
    request.refresh_from_db()
    (tour.folder / "worker.log").write_text(gpu_worker.output())
    assert card.get_attribute("data-status") == "succeeded", (
        request.error_message,
        gpu_worker.output()[:6000],
    )
    if not shot_progress:  # the tiny model outran the 1 s poll: show the queued/finished card instead
        tour.shot("02-progress")

    # 03: the progress bar reached the end; the final card stopped polling and shows the mockups.
    bar = page.locator('.job-card [role="progressbar"]')
    assert bar.get_attribute("aria-valuenow") == bar.get_attribute("aria-valuemax") == str(STEPS)
    assert page.get_by_text(f"step {STEPS} of {STEPS}").is_visible()
    assert card.get_attribute("hx-trigger") is None
    mockups = page.locator(".result__figure img")
    mockups.first.wait_for()
    page.wait_for_function("[...document.querySelectorAll('.result img')].every(i => i.complete)")
    assert page.locator(".result").count() == 2
    for i in range(mockups.count()):
        assert loaded(mockups.nth(i))
    assert page.get_by_text("Brand match").first.is_visible()
    tour.shot("03-result")

    # 04: add the first variation to the cart.
    page.locator(".result").first.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    thumb = page.locator(".line img.line-thumb")
    assert thumb.count() == 1 and loaded(thumb.first)
    tour.shot("04-cart")

    # 05: check out.
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url("**/checkout/")
    page.fill("#id_full_name", "Ada Lovelace")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_address_line1", "12 St James's Square")
    page.fill("#id_city", "London")
    page.fill("#id_postcode", "SW1Y 4JH")
    page.fill("#id_country", "GB")
    tour.shot("05-checkout")
    page.get_by_role("button", name="Place order").click()

    # 06: the order page shows the frozen design and its mockup.
    page.wait_for_url("**/orders/PZ*/")
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    design = LineDesign.objects.get(order_line__order=order)
    assert design.seed == request.images.order_by("index").first().seed
    images = page.locator(".order-line__images img")
    assert images.count() == 2
    page.wait_for_function("[...document.querySelectorAll('.order-line__images img')].every(i => i.complete)")
    assert all(loaded(images.nth(i)) for i in range(2))
    assert page.get_by_text("Awaiting payment").first.is_visible()
    tour.shot("06-order")

    # The same pages on a phone (for review; not published).
    page.set_viewport_size({"width": 390, "height": 844})
    tour.shot("mobile-order")
    page.goto(f"{url}/personalize/jobs/{request.pk}/")
    tour.shot("mobile-result")
    page.goto(f"{url}/personalize/?product={tee.slug}")
    tour.shot("mobile-studio", full_page=False)
    page.goto(f"{url}/personalize/gallery/")
    tour.shot("mobile-gallery", full_page=False)

    assert page.js_errors == []
    tour.publish()
