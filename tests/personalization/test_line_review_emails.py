"""The customer's email when the shop approves or rejects an ordered design (the brand's manual
approval policy): sent by the default cluster's worker after the decision commits, to the order's
email address (a guest order too), once; the approved one shows the mockup inline, the rejected one
the reason; no private URL in either. Approvals by the automatic policy at checkout send nothing."""

import email.mime.image
import re

import pytest
from django.core import mail

from brand_guides.models import Brand
from personalization.approval import NotPendingReview, line_design_approve, line_design_reject
from personalization.emails import line_review_outcome_queue
from personalization.models import EmailNotification
from tests.email_helpers import purge_email_queue, queued_email_tasks, run_queued_emails
from tests.factories import make_brand, make_user
from tests.fulfilment_helpers import make_export_order, order_design

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
SITE = "https://shop.example.com"
REASON = "The picture shows another company's logo."


@pytest.fixture(autouse=True)
def _emails(settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SITE_URL": SITE}
    purge_email_queue()
    yield
    purge_email_queue()


@pytest.fixture
def order(django_capture_on_commit_callbacks):
    """A guest order (no account) of a manual-policy brand's mug; its line waits for the shop."""
    brand = make_brand(approval_policy=Brand.ApprovalPolicy.MANUAL)
    with django_capture_on_commit_callbacks(execute=True):
        order = make_export_order(brand=brand, render=False)
    assert order.user is None and order_design(order).review_state == "pending_review"
    return order


def inline_images(message) -> list:
    return [part for part in message.attachments if isinstance(part, email.mime.image.MIMEImage)]


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def decide(django_capture_on_commit_callbacks, decision, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return decision(**kwargs)


def test_a_waiting_line_sends_nothing_until_the_shop_decides(order):
    assert queued_email_tasks() == [] and not EmailNotification.objects.exists()


def test_approval_emails_the_guest_at_the_orders_address_with_the_mockup_inline(
    order, django_capture_on_commit_callbacks
):
    design = decide(django_capture_on_commit_callbacks, line_design_approve, design=order_design(order))
    assert mail.outbox == []  # queued for the worker, not sent in the request

    tasks = run_queued_emails()

    assert [t["args"] for t in tasks] == [("line_approved", str(design.pk))]
    [message] = mail.outbox
    assert message.to == [order.email] == ["ada@example.com"]
    assert message.subject == "Your design was approved for printing"
    assert f"in order {order.number} and approved it" in message.body
    assert f"{SITE}/orders/{order.number}/" in message.body
    html = html_of(message)
    [image] = inline_images(message)
    assert image.get_payload(decode=True).startswith(b"\x89PNG")
    assert re.findall(r'src="cid:([^"]+)"', html) == [image["Content-ID"].strip("<>")]
    assert "/private-media/" not in html + message.body
    assert design.mockup.name not in html + message.body and design.image.name not in html + message.body


def test_rejection_emails_the_reason(order, django_capture_on_commit_callbacks):
    decide(
        django_capture_on_commit_callbacks,
        line_design_reject,
        design=order_design(order),
        reason=f"  {REASON}\n",
    )

    run_queued_emails()

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "The shop could not print your design"
    assert f"Reason: {REASON}" in message.body  # plain text: no escaping
    html = html_of(message)
    assert "<strong>Reason:</strong> The picture shows another company&#x27;s logo." in html
    assert "/private-media/" not in html + message.body


def test_an_account_order_is_emailed_at_the_orders_address(order, django_capture_on_commit_callbacks):
    order.user = make_user("grace")  # grace@example.com; the order was placed for ada@example.com
    order.save(update_fields=["user"])

    decide(django_capture_on_commit_callbacks, line_design_approve, design=order_design(order))
    run_queued_emails()

    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_each_outcome_is_sent_once(order, django_capture_on_commit_callbacks):
    design = decide(django_capture_on_commit_callbacks, line_design_approve, design=order_design(order))
    with pytest.raises(NotPendingReview):
        decide(django_capture_on_commit_callbacks, line_design_approve, design=design)
    with pytest.raises(NotPendingReview):
        decide(django_capture_on_commit_callbacks, line_design_reject, design=design, reason=REASON)
    with django_capture_on_commit_callbacks(execute=True):
        assert line_review_outcome_queue(design=design) is False  # already recorded: nothing more

    run_queued_emails()
    run_queued_emails()

    assert [m.subject for m in mail.outbox] == ["Your design was approved for printing"]
    [notification] = EmailNotification.objects.all()
    assert (notification.kind, notification.status) == ("line_approved", EmailNotification.Status.SENT)


def test_a_reason_is_required_and_nothing_is_sent_without_one(order, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        decide(
            django_capture_on_commit_callbacks, line_design_reject, design=order_design(order), reason="  "
        )
    assert "reason" in refused.value.message_dict
    assert order_design(order).review_state == "pending_review"
    assert queued_email_tasks() == [] and not EmailNotification.objects.exists()


def test_an_automatic_policys_approval_at_checkout_sends_no_review_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = make_export_order(
            brand=make_brand(approval_policy=Brand.ApprovalPolicy.AUTOMATIC), render=False
        )
    assert order_design(order).review_state == "approved"

    run_queued_emails()

    assert mail.outbox == [] and not EmailNotification.objects.exists()
    with pytest.raises(NotPendingReview):
        line_design_approve(design=order_design(order))
