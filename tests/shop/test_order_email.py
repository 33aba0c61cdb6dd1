"""The order confirmation email: recorded with the order, queued after the commit on the default
django-q2 cluster, sent by its worker (never inside the checkout request) with the frozen designs as
inline images, once; a mail server that is down never breaks the checkout and the send is retried."""

import email.mime.image
import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule, Task

from personalization.emails import EmailNotSent
from personalization.models import EmailNotification, GenerationImage, GenerationRequest
from personalization.services import generation_request_create
from personalization.tasks import email_send
from shop.models import Order
from shop.services import cart_add, cart_get_or_create, order_place
from tests.email_helpers import (
    FailingBackend,
    UnreachableBroker,
    purge_email_queue,
    queued_email_tasks,
    run_queued_emails,
    run_task,
)
from tests.factories import make_brand, make_product, png, visitor
from tests.shop_helpers import checkout_data

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
FAILING = f"{FailingBackend.__module__}.{FailingBackend.__name__}"


@pytest.fixture(autouse=True)
def _empty_queue(settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "SITE_URL": "https://shop.example.com"}
    purge_email_queue()
    yield
    purge_email_queue()


@pytest.fixture
def product():
    return make_product(name="Classic tee", slug="classic-tee")


def design(product, *, color=(0, 0, 200)) -> GenerationImage:
    g = generation_request_create(
        product=product, base_color="White", description="a fox", session_key="visitor-me"
    )
    GenerationRequest.objects.filter(pk=g.pk).update(
        status=GenerationRequest.Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    g.refresh_from_db()
    image = GenerationImage(request=g, index=0, seed=g.seed, width=64, height=64, brand_consistency=77)
    image.image.save("design.png", ContentFile(png()), save=False)
    image.mockup.save("mockup.png", ContentFile(png(color=color)), save=False)
    image.save()
    return image


def fill_cart(client, product):
    """Two personalized lines and one plain line."""
    for image in (design(product), design(product, color=(0, 150, 0))):
        client.post(
            reverse("shop:cart_add"), {"product": product.slug, "base_color": "White", "design": image.pk}
        )
    client.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black", "quantity": 2})


def inline_images(message) -> list:
    return [part for part in message.attachments if isinstance(part, email.mime.image.MIMEImage)]


def test_the_confirmation_is_sent_by_the_worker_with_one_inline_image_per_personalized_line(
    client, product, django_capture_on_commit_callbacks
):
    me = visitor(client, "visitor-me")
    fill_cart(me, product)
    with django_capture_on_commit_callbacks(execute=True):
        response = me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
    assert mail.outbox == []  # the request only queued it
    tasks = run_queued_emails()
    assert [t["args"] for t in tasks] == [("order_confirmation", order.number)]
    assert [t.get("cluster") for t in tasks] == ["web"]  # the default cluster, not the GPU one

    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and order.number in message.subject
    assert message.from_email == "Personalized Shop <shop@localhost>"
    # The plain-text part: every line, the total, the address and the link.
    assert "2 x Classic tee, Black" in message.body and message.body.count("personalized") == 2
    assert f"Total: £{order.total}" in message.body and "SW1Y 4JH London" in message.body
    assert f"https://shop.example.com/orders/{order.number}/" in message.body
    # The HTML part shows each frozen mockup through its Content-ID; no private URL leaves the shop.
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    images = inline_images(message)
    assert len(images) == 2
    cids = sorted(part["Content-ID"].strip("<>") for part in images)
    assert sorted(re.findall(r'src="cid:([^"]+)"', html)) == cids
    assert all(part["Content-Disposition"].startswith("inline") for part in images)
    assert all(part.get_payload(decode=True).startswith(b"\x89PNG") for part in images)
    assert "/private-media/" not in html and "/private-media/" not in message.body
    sent = message.message()
    assert sent.get_content_type() == "multipart/related"
    assert EmailNotification.objects.get().status == EmailNotification.Status.SENT
    assert Task.objects.get(name=f"email-order_confirmation-{order.number}").success is True


WAITING = "a person at the shop checks this design before it is printed."


@pytest.mark.parametrize("policy", ["manual", "automatic"])
def test_the_confirmation_says_which_designs_the_shop_checks_before_printing(
    client, policy, django_capture_on_commit_callbacks
):
    product = make_product(name="Harbour tee", slug="harbour-tee", brand=make_brand(approval_policy=policy))
    me = visitor(client, "visitor-me")
    fill_cart(me, product)
    with django_capture_on_commit_callbacks(execute=True):
        me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    run_queued_emails()

    [message] = mail.outbox  # the confirmation only: no approval email for a line approved at checkout
    assert order.number in message.subject
    [(html, _)] = message.alternatives
    waiting = 2 if policy == "manual" else 0  # the two personalized lines; never the plain one
    assert message.body.count(WAITING) == waiting and html.count(WAITING) == waiting
    assert ("We email you when the shop has approved a design" in message.body) is (policy == "manual")
    assert [n.kind for n in EmailNotification.objects.all()] == ["order_confirmation"]


def test_a_rolled_back_order_queues_and_sends_nothing(client, product, django_capture_on_commit_callbacks):
    cart = cart_get_or_create(session_key="visitor-me")
    cart_add(cart=cart, product=product, base_color="White", design=design(product))
    fields = {k: v for k, v in checkout_data().items() if k != "checkout_token"}
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="payment declined"),
        transaction.atomic(),
    ):
        order_place(cart=cart, checkout_token=uuid.uuid4(), session_key="visitor-me", **fields)
        assert EmailNotification.objects.count() == 1
        raise RuntimeError("payment declined")
    assert callbacks == [] and not Order.objects.exists() and not EmailNotification.objects.exists()
    assert queued_email_tasks() == [] and mail.outbox == []


def test_a_mail_server_that_is_down_never_breaks_checkout_and_the_send_is_retried_once(
    client, product, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    me = visitor(client, "visitor-me")
    fill_cart(me, product)
    with django_capture_on_commit_callbacks(execute=True):
        response = me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert response.status_code == 302 and order.lines.count() == 3

    run_queued_emails()  # the worker's try fails: django-q2 records a failed task
    failed = Task.objects.get(name=f"email-order_confirmation-{order.number}")
    assert failed.success is False and "421 the mail server is not answering" in failed.result
    row = EmailNotification.objects.get()
    assert (row.status, row.attempts) == (EmailNotification.Status.FAILED, 1)
    assert "SMTPException" in row.last_error
    retry = Schedule.objects.get(func="personalization.tasks.email_send")
    assert retry.args == repr(("order_confirmation", order.number))
    assert retry.cluster == "web" and retry.schedule_type == Schedule.ONCE
    assert timezone.now() + timedelta(seconds=30) < retry.next_run <= timezone.now() + timedelta(seconds=61)
    assert mail.outbox == []

    # A second failure: the next retry waits twice as long.
    with pytest.raises(EmailNotSent):
        email_send("order_confirmation", order.number)
    assert EmailNotification.objects.get().attempts == 2
    latest = Schedule.objects.filter(func="personalization.tasks.email_send").latest("next_run")
    assert latest.next_run > timezone.now() + timedelta(seconds=90)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_send("order_confirmation", order.number) == "sent"  # the scheduled retry
    assert email_send("order_confirmation", order.number) == "sent"  # a late duplicate does nothing
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (EmailNotification.Status.SENT, 3, "")


def test_a_queue_that_cannot_be_reached_is_logged_and_the_order_stands(
    client, product, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "BROKER_CLASS", f"{UnreachableBroker.__module__}.UnreachableBroker")
    me = visitor(client, "visitor-me")
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black"})
    with django_capture_on_commit_callbacks(execute=True):
        response = me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    assert response.status_code == 302
    assert "could not be queued" in caplog.text
    assert EmailNotification.objects.get(key=order.number).status == EmailNotification.Status.PENDING


def test_the_confirmation_is_sent_once_even_if_its_task_runs_twice(
    client, product, django_capture_on_commit_callbacks
):
    me = visitor(client, "visitor-me")
    me.post(reverse("shop:cart_add"), {"product": product.slug, "base_color": "Black"})
    with django_capture_on_commit_callbacks(execute=True):
        me.post(reverse("shop:checkout"), checkout_data())
    order = Order.objects.get()
    [task] = queued_email_tasks()
    for _ in range(2):  # e.g. the broker redelivers it
        run_task(task)
    assert len(mail.outbox) == 1 and inline_images(mail.outbox[0]) == []  # a plain line: no image
    assert "1 x Classic tee, Black" in mail.outbox[0].body and order.number in mail.outbox[0].subject
