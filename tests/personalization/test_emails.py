"""The plugin's customer emails: "your design is ready" (only for requests that took longer than
READY_EMAIL_AFTER_SECONDS, only to customers with an email address) and the review outcome
(approved with the design, rejected with the reason); each queued after the commit on the default
cluster, sent once, as a plain-text body with an HTML alternative and inline design thumbnails."""

import email.mime.image
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from personalization import worker
from personalization.emails import design_ready_queue, email_cluster
from personalization.models import EmailNotification, GenerationImage, GenerationRequest
from personalization.review import (
    generation_hold_for_review,
    generation_review_approve,
    generation_review_reject,
)
from personalization.services import generation_request_create
from personalization.tasks import email_send
from tests.email_helpers import purge_email_queue, queued_email_tasks, run_queued_emails
from tests.factories import make_product, make_user, png

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
Status = GenerationRequest.Status
SITE = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _emails(settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SITE_URL": SITE, "READY_EMAIL_AFTER_SECONDS": 60}
    purge_email_queue()
    yield
    purge_email_queue()


@pytest.fixture
def product():
    return make_product(name="Classic tee", slug="classic-tee")


@pytest.fixture
def customer():
    return make_user("grace")  # grace@example.com


def finished(product, *, customer=None, took: float = 120, images: int = 2) -> GenerationRequest:
    """A succeeded request that took ``took`` seconds from submit to finish."""
    g = generation_request_create(
        product=product,
        base_color="White",
        description="a fox in the snow",
        customer=customer,
        session_key="" if customer else "visitor-me",
    )
    now = timezone.now()
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=Status.SUCCEEDED, created_at=now - timedelta(seconds=took), started_at=now, finished_at=now
    )
    for index in range(images):
        image = GenerationImage(request=g, index=index, seed=g.seed + index, width=64, height=64)
        image.image.save("design.png", ContentFile(png()), save=False)
        image.mockup.save("mockup.png", ContentFile(png(color=(0, 0, 200))), save=False)
        image.save()
    g.refresh_from_db()
    return g


def job(g) -> str:
    return reverse("personalization:job", kwargs={"pk": g.pk})


def inline_images(message) -> list:
    return [part for part in message.attachments if isinstance(part, email.mime.image.MIMEImage)]


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


# --- "your design is ready" -----------------------------------------------------------------------


def test_design_ready_is_sent_for_a_slow_request_with_its_thumbnails_inline(
    product, customer, django_capture_on_commit_callbacks
):
    g = finished(product, customer=customer, took=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert design_ready_queue(request_id=g.pk) is True
    assert mail.outbox == []
    tasks = run_queued_emails()
    assert [(t["args"], t["cluster"]) for t in tasks] == [(("design_ready", str(g.pk)), email_cluster())]
    assert email_cluster() == "web"

    [message] = mail.outbox
    assert message.to == ["grace@example.com"] and message.subject == "Your design is ready"
    assert "Classic tee" in message.body and "a fox in the snow" in message.body
    assert f"{SITE}{job(g)}" in message.body  # the job page, on the public address
    html = html_of(message)
    images = inline_images(message)
    assert len(images) == 2
    assert sorted(re.findall(r'src="cid:([^"]+)"', html)) == sorted(
        p["Content-ID"].strip("<>") for p in images
    )
    assert "/private-media/" not in html + message.body
    assert message.message().get_content_type() == "multipart/related"


@pytest.mark.parametrize(
    "took, threshold, anonymous, email_address, sent",
    [
        (120, 60, False, "grace@example.com", True),
        (59, 60, False, "grace@example.com", False),  # fast enough: no email
        (120, 60, True, "", False),  # an anonymous visitor: no address
        (120, 60, False, "", False),  # an account without an address
        (3600, 0, False, "grace@example.com", False),  # 0: turned off
        (3600, None, False, "grace@example.com", False),  # None: turned off
    ],
)
def test_design_ready_only_above_the_threshold_and_only_to_a_customer_with_an_email(
    product, settings, django_capture_on_commit_callbacks, took, threshold, anonymous, email_address, sent
):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "READY_EMAIL_AFTER_SECONDS": threshold}
    customer = None if anonymous else make_user("grace")
    if customer is not None:
        customer.email = email_address
        customer.save()
    g = finished(product, customer=customer, took=took)
    with django_capture_on_commit_callbacks(execute=True):
        design_ready_queue(request_id=g.pk)
    run_queued_emails()
    assert len(mail.outbox) == int(sent)
    assert EmailNotification.objects.filter(kind="design_ready").count() == int(sent)


def test_a_design_held_for_review_gets_no_ready_email(product, customer, django_capture_on_commit_callbacks):
    g = finished(product, customer=customer, took=300)
    generation_hold_for_review(request_id=g.pk, reason="Text in the picture: “ACME”.")
    with django_capture_on_commit_callbacks(execute=True):
        assert design_ready_queue(request_id=g.pk) is False
    assert queued_email_tasks() == [] and not EmailNotification.objects.exists()


def test_design_ready_is_sent_once_even_if_queued_and_run_twice(
    product, customer, django_capture_on_commit_callbacks
):
    g = finished(product, customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        assert design_ready_queue(request_id=g.pk) is True
        assert design_ready_queue(request_id=g.pk) is False  # already recorded: not queued again
    run_queued_emails()
    assert email_send("design_ready", str(g.pk)) == "sent"
    assert len(mail.outbox) == 1


def test_the_worker_queues_design_ready_when_a_slow_request_succeeds(
    tiny_model, customer, settings, django_capture_on_commit_callbacks
):
    """The real worker path (tiny pipeline in this process): finish_request queues it after success."""
    p = make_product(name="Classic tee", slug="classic-tee")
    p.brand.min_consistency_score = 0
    p.brand.save()
    slow = generation_request_create(
        product=p, base_color="White", description="Geometric wolf head", steps=3, size=64, customer=customer
    )
    quick = generation_request_create(
        product=p, base_color="White", description="Geometric fox head", steps=3, size=64, customer=customer
    )
    GenerationRequest.objects.filter(pk=slow.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        worker.run(slow.pk)
        worker.run(quick.pk)
    assert set(GenerationRequest.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    run_queued_emails()
    [message] = mail.outbox
    assert message.subject == "Your design is ready" and f"{SITE}{job(slow)}" in message.body
    assert len(inline_images(message)) == 1


# --- the review outcome ---------------------------------------------------------------------------


def test_approving_a_held_design_emails_the_customer_with_the_design(
    product, customer, django_capture_on_commit_callbacks
):
    g = finished(product, customer=customer)
    generation_hold_for_review(request_id=g.pk, reason="The description names “Totoro”.")
    with django_capture_on_commit_callbacks(execute=True):
        generation_review_approve(generation=g)
    run_queued_emails()
    [message] = mail.outbox
    assert message.to == ["grace@example.com"] and message.subject == "Your design was approved"
    assert "you can see it now and order it" in message.body and f"{SITE}{job(g)}" in message.body
    assert "you can see it now and order it" in html_of(message)
    assert len(inline_images(message)) == 2
    assert EmailNotification.objects.get().kind == "review_approved"


def test_rejecting_a_held_design_emails_the_reason_and_no_picture(
    product, customer, django_capture_on_commit_callbacks
):
    g = finished(product, customer=customer)
    generation_hold_for_review(request_id=g.pk, reason="Text in the picture: “ACME”.")
    with django_capture_on_commit_callbacks(execute=True):
        generation_review_reject(generation=g, reason="The picture shows   another company's logo.")
    run_queued_emails()
    [message] = mail.outbox
    assert message.subject == "Your design could not be accepted"
    assert "Reason: The picture shows another company's logo." in message.body  # plain text: no escaping
    html = html_of(message)
    assert "another company&#x27;s logo." in html and "<strong>Reason:</strong>" in html
    assert inline_images(message) == [] and "cid:" not in html


def test_review_outcomes_of_an_anonymous_visitor_send_nothing(product, django_capture_on_commit_callbacks):
    approved, rejected = finished(product), finished(product)
    for g in (approved, rejected):
        generation_hold_for_review(request_id=g.pk, reason="The description names “Totoro”.")
    with django_capture_on_commit_callbacks(execute=True):
        generation_review_approve(generation=approved)
        generation_review_reject(generation=rejected, reason="No.")
    assert queued_email_tasks() == [] and not EmailNotification.objects.exists()
