"""The shop owner's approval queue in real headless Chromium: a brand with the manual approval
policy has two ordered designs waiting; its owner (staff, not a superuser) logs into the admin, opens
the queue from the admin index, approves one design and rejects the other with a reason; the customer
then sees both outcomes on the order pages."""

import re

import pytest
from django.contrib.auth.models import Group

from brand_guides.admin_scoping import SHOP_OWNER_GROUP, shop_owner_group_ensure
from personalization.interface import fulfilment_refusal, line_review
from personalization.models import EmailNotification, LineDesign
from tests.approval_helpers import make_manual_brand, ordered_design
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]
PASSWORD = "pass-w0rd-long"
REASON = "The lion's face is cut off at the top edge."


def loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def test_the_owner_approves_one_design_and_rejects_another(live_server, page):
    shop_owner_group_ensure()
    owner = make_user("northwind-owner", password=PASSWORD, is_staff=True)
    owner.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    brand = make_manual_brand(name="Northwind")
    brand.owners.add(owner)
    customer = make_user("ada", password=PASSWORD)
    lion = ordered_design(brand=brand, user=customer, description="A lion on a hill")
    owl = ordered_design(brand=brand, user=customer, description="An owl at night")
    lion_order, owl_order = lion.order_line.order.number, owl.order_line.order.number
    assert lion.review_state == owl.review_state == LineDesign.ReviewState.PENDING

    # Every failed request (the admin has no favicon, which Chromium asks for).
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))

    # The owner logs in and finds the queue on the admin index.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.locator('input[type="submit"]').click()
    module = page.locator("#approval-queue-module")
    assert module.inner_text().split("\n")[-1] == "2 designs waiting for approval"
    module.get_by_role("link").click()
    page.wait_for_url("**/admin/personalization/linedesign/approval/")
    cards = page.locator(".approval-card")
    assert cards.count() == 2
    assert lion_order in cards.nth(0).inner_text() and owl_order in cards.nth(1).inner_text()

    # The oldest first: the lion, side by side with its mockup and prompts. Approved.
    cards.nth(0).get_by_role("link", name=f"Review order {lion_order}").click()
    page.wait_for_url(f"**/linedesign/{lion.pk}/review/")
    assert loaded(page.locator("img[data-design-image]")) and loaded(page.locator("img[data-mockup-image]"))
    assert page.locator("[data-customer-description]").inner_text() == "A lion on a hill"
    page.get_by_role("button", name="Approve for printing").click()

    # On to the owl: rejecting without a reason is refused on the page, then with one it is done.
    page.wait_for_url(f"**/linedesign/{owl.pk}/review/")
    assert page.get_by_text(f"Approved the design of order {lion_order}.").is_visible()
    reject = page.get_by_role("form", name="Reject")
    reject.locator("textarea").fill("   ")
    reject.get_by_role("button", name="Reject").click()
    # The refusal comes back from the server at the same URL: wait for it (a click does not wait
    # for the page it posts to; checking at once raced the response in CI once).
    refused = page.get_by_text("Say why this design is rejected (the customer reads it).")
    refused.wait_for(state="visible")
    assert refused.is_visible()
    page.get_by_role("form", name="Reject").locator("textarea").fill(REASON)
    page.get_by_role("form", name="Reject").get_by_role("button", name="Reject").click()

    page.wait_for_url("**/admin/personalization/linedesign/approval/")
    assert page.get_by_text(f"Rejected the design of order {owl_order}.").is_visible()
    assert page.get_by_text("Nothing is waiting for approval.").is_visible()
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert [e for e in page.js_errors if "Failed to load resource" not in e] == []

    # What the customer is shown: the customer logs in to the shop and opens both orders.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", customer.username)
    page.fill("#id_password", PASSWORD)
    page.locator('form button[type="submit"], form input[type="submit"]').last.click()
    page.goto(f"{live_server.url}/orders/{lion_order}/")
    notice = page.locator(".review-notice")
    assert notice.locator(".status-pill--approved").inner_text() == "Approved"
    assert "Approved for printing." in notice.inner_text()
    page.goto(f"{live_server.url}/orders/{owl_order}/")
    notice = page.locator(".review-notice")
    assert notice.locator(".status-pill--rejected").inner_text() == "Rejected"
    assert f"Reason: {REASON}" in notice.inner_text()
    page.goto(f"{live_server.url}/orders/")
    assert page.get_by_text("1 design rejected").is_visible()

    lion.refresh_from_db()
    owl.refresh_from_db()
    assert line_review(lion)["label"] == "Approved" and line_review(lion)["reason"] == ""
    assert line_review(owl)["label"] == "Rejected" and line_review(owl)["reason"] == REASON
    assert lion.reviewed_by == owl.reviewed_by == owner
    assert fulfilment_refusal(lion) == "" and re.search("rejected", fulfilment_refusal(owl))
    kinds = dict(EmailNotification.objects.values_list("key", "kind"))
    assert kinds[str(lion.pk)] == "line_approved" and kinds[str(owl.pk)] == "line_rejected"
