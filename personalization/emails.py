"""Customer emails: rendered from a plain-text and an HTML template, with design thumbnails as inline
PNG images (``cid:``), sent by a django-q2 task after the commit, at most once each.

    email_queue(kind, key, builder)     in the transaction: one EmailNotification row (kind, key)
        --on_commit--> async_task("personalization.tasks.email_send", kind, key, cluster=<default>)
    email_deliver(kind, key)            in the worker: claim the row (pending/failed -> sending),
        builder(key) -> Email | None    make the message from the database as it is now,
        send                            -> sent; a failure -> failed, a retry is scheduled, re-raised

A request never waits for an SMTP server and never fails because of one: the row is written with the
request's own transaction, the task is queued only after the commit, and a queue that cannot be
reached is logged. The plugin's own emails: "design_ready", "review_approved", "review_rejected"; a
host queues its own (the shop's order confirmation) through ``personalization.interface``.

A task can still be lost (a queue down at the commit, a worker killed mid-send, a retry never
scheduled): a sweeper, run by the same cluster, queues those rows again.

    email_sweep()                       every EMAIL_SWEEP_MINUTES (a django-q2 schedule made after
                                        migrate by ``email_sweep_schedule_ensure``):
        pending  past EMAIL_PENDING_GRACE_SECONDS    its task was lost: queued again
        sending  past EMAIL_SENDING_STALE_SECONDS    its worker died mid-send: pending, queued again
                                                     (gave_up when its attempts are used up)
        failed   its retry due, none scheduled       pending, queued again
    email_resend(notification)          staff's "Send again" (failed, gave_up, sent): pending, queued

The claim stays the only way to send (a conditional UPDATE), so a task queued twice sends once. On a
pending row ``claimed_at`` is when it was last queued again (the sweep waits the grace from then).
Thumbnails of customer files travel inside the message: no private URL is ever put in an email.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from .conf import conf

logger = logging.getLogger(__name__)

TASK = "personalization.tasks.email_send"


class EmailNotSent(RuntimeError):
    """Sending failed: the task fails (django-q2 records it) and a retry is scheduled."""


@dataclass
class InlineImage:
    """A PNG shown inside the HTML part as ``<img src="cid:{{ cid }}">``."""

    cid: str
    data: bytes
    filename: str = "design.png"


@dataclass
class Email:
    """What a builder returns: ``template`` names two templates, ``<template>.txt`` (the plain-text
    body) and ``<template>.html``; both get ``context`` plus ``images`` (the inline images, each with
    ``cid``) and ``site_url``."""

    to: str
    subject: str
    template: str
    context: dict = field(default_factory=dict)
    images: list[InlineImage] = field(default_factory=list)


# --- rendering and sending ----------------------------------------------------------------------


def email_message(email: Email) -> EmailMultiAlternatives:
    """The message: the plain-text body, the HTML alternative, and the inline images (multipart/related,
    each with its Content-ID)."""
    context = {**email.context, "images": email.images, "site_url": site_url()}
    text = render_to_string(f"{email.template}.txt", context)
    html = render_to_string(f"{email.template}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(email.subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    message.attach_alternative(html, "text/html")
    if email.images:
        message.mixed_subtype = "related"
        for image in email.images:
            part = MIMEImage(image.data, "png")
            part.add_header("Content-ID", f"<{image.cid}>")
            part.add_header("Content-Disposition", "inline", filename=image.filename)
            message.attach(part)
    return message


def send_email(email: Email) -> None:
    """Send now (raises what the email backend raises). Only the task calls it: never in a request."""
    email_message(email).send(fail_silently=False)


def thumbnail_png(file_field, *, size: int | None = None) -> bytes | None:
    """Small PNG bytes of a stored picture (private or public storage), None when there is none or it
    cannot be read."""
    if not file_field:
        return None
    from PIL import Image

    size = size or conf.EMAIL_THUMBNAIL_SIZE
    try:
        with file_field.open("rb") as fh:
            picture = Image.open(fh)
            picture.load()
    except (OSError, ValueError):
        logger.warning("email thumbnail: cannot read %s", getattr(file_field, "name", file_field))
        return None
    picture.thumbnail((size, size))
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA")
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def site_url() -> str:
    return (conf.SITE_URL or "").rstrip("/")


def absolute_url(path: str) -> str:
    """``path`` on the shop's public address (SITE_URL); "" when SITE_URL is not set."""
    base = site_url()
    return f"{base}{path}" if base and path else ""


def email_cluster() -> str:
    """The django-q2 cluster that sends emails: EMAIL_CLUSTER, else the host's default cluster (named
    explicitly: a task queued from the GPU worker would otherwise land on the GPU cluster)."""
    return conf.EMAIL_CLUSTER or (getattr(settings, "Q_CLUSTER", None) or {}).get("name") or "default"


# --- queueing -------------------------------------------------------------------------------------


def email_queue(*, kind: str, key, builder: str) -> bool:
    """Record the email (kind, key) in the caller's transaction and queue its task after the commit.
    A rollback leaves neither. An email already recorded is not queued again. ``builder`` is the
    dotted path of ``builder(key: str) -> Email | None``. Returns whether it was recorded now."""
    from .models import EmailNotification

    key = str(key)
    _row, created = EmailNotification.objects.get_or_create(kind=kind, key=key, defaults={"builder": builder})
    if created:
        transaction.on_commit(lambda: _enqueue(kind, key))
    return created


def _enqueue(kind: str, key: str) -> None:
    """Never raises: a queue that cannot be reached must not break the request that committed."""
    try:
        from django_q.tasks import async_task

        async_task(
            TASK, kind, key, cluster=email_cluster(), task_name=f"email-{kind}-{key}"[:100], group="email"
        )
    except Exception:
        logger.exception("email %s %s: could not be queued; the row stays pending", kind, key)


def _retry_delay(attempts: int) -> int:
    """Seconds from a failed try to the next: EMAIL_RETRY_SECONDS x 2^(attempts - 1)."""
    return conf.EMAIL_RETRY_SECONDS * 2 ** max(0, attempts - 1)


def _schedule_retry(kind: str, key: str, attempts: int) -> None:
    delay = _retry_delay(attempts)
    try:
        from django_q.models import Schedule
        from django_q.tasks import schedule

        schedule(
            TASK,
            kind,
            key,
            schedule_type=Schedule.ONCE,
            next_run=timezone.now() + timedelta(seconds=delay),
            cluster=email_cluster(),
        )
    except Exception:
        logger.exception("email %s %s: could not schedule its retry", kind, key)


# --- the task -------------------------------------------------------------------------------------


def email_deliver(*, kind: str, key: str) -> str:
    """Send the email (kind, key) if no one has: claim, build, send, mark. Returns the row's status.
    A failure marks it failed, schedules a retry (until EMAIL_MAX_ATTEMPTS) and raises EmailNotSent."""
    from .models import EmailNotification

    Status = EmailNotification.Status
    rows = EmailNotification.objects.filter(kind=kind, key=str(key))
    claimed = rows.filter(status__in=[Status.PENDING, Status.FAILED]).update(
        status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
    )
    row = rows.first()
    if row is None:
        return "unknown"
    if not claimed:  # sent, being sent, given up or nothing to send: a repeat does nothing
        return row.status
    try:
        email = import_string(row.builder)(row.key)
        if email is None or not email.to:
            rows.update(status=Status.SKIPPED)
            return Status.SKIPPED
        send_email(email)
    except Exception as exc:
        gave_up = row.attempts >= conf.EMAIL_MAX_ATTEMPTS
        rows.update(
            status=Status.GAVE_UP if gave_up else Status.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        if not gave_up:
            _schedule_retry(kind, row.key, row.attempts)
        raise EmailNotSent(f"email {kind} {row.key} (attempt {row.attempts}): {exc}") from exc
    rows.update(status=Status.SENT, to=email.to, sent_at=timezone.now(), last_error="")
    return Status.SENT


# --- lost tasks and staff's "send again" -------------------------------------------------------------

SWEEP_BATCH = 100  # rows of each kind per sweep; the next sweep takes the rest
SWEEP_SCHEDULE = "personalization.email_sweep"


def _queue_again(kind: str, key: str) -> None:
    transaction.on_commit(lambda: _enqueue(kind, key))


def email_sweep(*, now=None) -> dict:
    """Queue again the emails whose task was lost (see the module's docstring); returns counts. Each
    row moves by a conditional UPDATE, so two sweeps (or a sweep and a late task) never both act."""
    from django_q.models import Schedule

    from .models import EmailNotification

    Status = EmailNotification.Status
    now = now or timezone.now()
    rows = EmailNotification.objects
    grace = now - timedelta(seconds=conf.EMAIL_PENDING_GRACE_SECONDS)
    counts = {"pending": 0, "sending": 0, "failed": 0, "gave_up": 0}

    # Pending past the grace (since recorded, and since last queued again): the task was lost.
    lost = Q(status=Status.PENDING, created_at__lt=grace) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=grace)
    )
    for pk, kind, key in rows.filter(lost).values_list("pk", "kind", "key")[:SWEEP_BATCH]:
        if rows.filter(lost, pk=pk).update(claimed_at=now):
            counts["pending"] += 1
            _queue_again(kind, key)

    # Sending for longer than any send takes: the worker died mid-send; claimable again.
    stale = Q(status=Status.SENDING, claimed_at__lt=now - timedelta(seconds=conf.EMAIL_SENDING_STALE_SECONDS))
    for pk, kind, key, attempts in rows.filter(stale).values_list("pk", "kind", "key", "attempts")[
        :SWEEP_BATCH
    ]:
        message = f"The worker stopped while sending (attempt {attempts})."
        if attempts >= conf.EMAIL_MAX_ATTEMPTS:
            counts["gave_up"] += rows.filter(stale, pk=pk).update(status=Status.GAVE_UP, last_error=message)
        elif rows.filter(stale, pk=pk).update(status=Status.PENDING, claimed_at=now, last_error=message):
            counts["sending"] += 1
            _queue_again(kind, key)

    # Failed, its retry due (plus the grace), and no retry scheduled: the schedule was never made.
    scheduled = set(Schedule.objects.filter(func=TASK).exclude(repeats=0).values_list("args", flat=True))
    due_first = grace - timedelta(seconds=_retry_delay(1))
    candidates = rows.filter(status=Status.FAILED, claimed_at__lt=due_first).order_by("claimed_at")
    for pk, kind, key, attempts, claimed_at in candidates.values_list(
        "pk", "kind", "key", "attempts", "claimed_at"
    )[:SWEEP_BATCH]:
        if claimed_at + timedelta(seconds=_retry_delay(attempts)) >= grace or repr((kind, key)) in scheduled:
            continue
        if rows.filter(pk=pk, status=Status.FAILED, claimed_at=claimed_at).update(
            status=Status.PENDING, claimed_at=now
        ):
            counts["failed"] += 1
            _queue_again(kind, key)
    if any(counts.values()):
        logger.warning("email sweep: %s", counts)
    return counts


def email_sweep_schedule_ensure(*, using: str = "default"):
    """The django-q2 schedule that runs ``email_sweep`` every EMAIL_SWEEP_MINUTES on the email
    cluster (made or updated after every migrate; EMAIL_SWEEP_MINUTES 0 removes it). Returns it."""
    from django_q.models import Schedule

    minutes = int(conf.EMAIL_SWEEP_MINUTES or 0)
    schedules = Schedule.objects.using(using)
    if minutes <= 0:
        schedules.filter(name=SWEEP_SCHEDULE).delete()
        return None
    schedule, _ = schedules.update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "personalization.tasks.email_sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
            "cluster": email_cluster(),
        },
    )
    return schedule


class EmailNotResendable(Exception):
    """This email cannot be sent again now (being sent, about to be sent, or nothing to send)."""


RESENDABLE = ("failed", "gave_up", "sent")


def email_resend(*, notification):
    """Staff's "Send again": a failed, given-up or sent email goes back to pending (attempts 0, error
    cleared) and is queued after the commit; the task sends it, never the caller. Raises
    EmailNotResendable for the others (a pending or sending one is on its way already)."""
    from .models import EmailNotification

    updated = EmailNotification.objects.filter(pk=notification.pk, status__in=RESENDABLE).update(
        status=EmailNotification.Status.PENDING, attempts=0, last_error="", claimed_at=timezone.now()
    )
    notification.refresh_from_db()
    if not updated:
        if notification.status == EmailNotification.Status.SKIPPED:
            raise EmailNotResendable("There was nothing to send (no address, or nothing to tell).")
        raise EmailNotResendable(
            f"A {notification.get_status_display().lower()} email is on its way already."
        )
    _queue_again(notification.kind, notification.key)
    return notification


# --- the plugin's emails ----------------------------------------------------------------------------


def _customer_email(generation) -> str:
    customer = generation.customer
    return (getattr(customer, "email", "") or "").strip() if customer is not None else ""


def _job_url(generation) -> str:
    try:
        return absolute_url(reverse("personalization:job", kwargs={"pk": generation.pk}))
    except NoReverseMatch:
        return ""


def design_images(generation) -> list[InlineImage]:
    """Inline thumbnails of a finished request's variations (the mockup when there is one)."""
    images = []
    for item in generation.images.order_by("index"):
        data = thumbnail_png(item.mockup) or thumbnail_png(item.image)
        if data:
            images.append(InlineImage(cid=f"design-{item.index}@{generation.pk}", data=data))
    return images


def _generation(key: str):
    from .models import GenerationRequest

    return GenerationRequest.objects.select_related("customer", "product", "brand").filter(pk=key).first()


def _generation_email(key: str, *, kind: str, subject: str, with_images: bool) -> Email | None:
    from .review import images_visible

    generation = _generation(key)
    if generation is None or not (to := _customer_email(generation)):
        return None
    if with_images and not images_visible(generation):
        return None
    return Email(
        to=to,
        subject=subject,
        template=f"personalization/email/{kind}",
        context={"generation": generation, "product": generation.product, "job_url": _job_url(generation)},
        images=design_images(generation) if with_images else [],
    )


def build_design_ready(key: str) -> Email | None:
    return _generation_email(key, kind="design_ready", subject="Your design is ready", with_images=True)


def build_review_approved(key: str) -> Email | None:
    return _generation_email(
        key, kind="review_approved", subject="Your design was approved", with_images=True
    )


def build_review_rejected(key: str) -> Email | None:
    return _generation_email(
        key, kind="review_rejected", subject="Your design could not be accepted", with_images=False
    )


def ready_email_due(generation) -> bool:
    """A succeeded request, visible to its customer, that took longer than READY_EMAIL_AFTER_SECONDS
    (submit to finish), of a customer with an email address."""
    from .review import images_visible

    threshold = conf.READY_EMAIL_AFTER_SECONDS
    if not threshold or generation.status != generation.Status.SUCCEEDED or not images_visible(generation):
        return False
    if not (generation.finished_at and generation.created_at and _customer_email(generation)):
        return False
    return (generation.finished_at - generation.created_at).total_seconds() > threshold


def design_ready_queue(*, request_id) -> bool:
    """After a request succeeded: queue "your design is ready" when it is due (``ready_email_due``)."""
    generation = _generation(str(request_id))
    if generation is None or not ready_email_due(generation):
        return False
    return email_queue(kind="design_ready", key=generation.pk, builder=f"{__name__}.build_design_ready")


def review_outcome_queue(*, generation) -> bool:
    """After staff approved or rejected a held request: tell its customer (one email per outcome)."""
    if not _customer_email(generation):
        return False
    kind = (
        "review_approved" if generation.review_state == generation.ReviewState.APPROVED else "review_rejected"
    )
    return email_queue(kind=kind, key=generation.pk, builder=f"{__name__}.build_{kind}")


# --- the shop's approval of an ordered design -------------------------------------------------------


def _line_design(key: str):
    from .models import LineDesign

    return LineDesign.objects.filter(pk=key).first()


def _line_email(key: str, *, kind: str, subject: str) -> Email | None:
    from .hosts import host

    design = _line_design(key)
    if design is None:
        return None
    contact = host().order_line_contact(design.order_line)
    if not contact.email:
        return None
    data = thumbnail_png(design.mockup) or thumbnail_png(design.image)
    images = [InlineImage(cid=f"line-{design.pk}@design", data=data)] if data else []
    url = contact.order_url
    if url and url.startswith("/"):
        url = absolute_url(url)
    return Email(
        to=contact.email,
        subject=subject,
        template=f"personalization/email/{kind}",
        context={"design": design, "contact": contact, "order_url": url},
        images=images,
    )


def build_line_approved(key: str) -> Email | None:
    return _line_email(key, kind="line_approved", subject="Your design was approved for printing")


def build_line_rejected(key: str) -> Email | None:
    return _line_email(key, kind="line_rejected", subject="The shop could not print your design")


def line_review_outcome_queue(*, design) -> bool:
    """After the shop approved or rejected an ordered design: tell the customer (one email per outcome).
    Approvals by the automatic policy at checkout send nothing (the order confirmation covers them)."""
    approved = design.review_state == design.ReviewState.APPROVED
    if not approved and design.review_state != design.ReviewState.REJECTED:
        return False
    kind = "line_approved" if approved else "line_rejected"
    return email_queue(kind=kind, key=design.pk, builder=f"{__name__}.build_{kind}")
