"""Emails whose task was lost (personalization.emails.email_sweep): a pending row past its grace, a
"sending" row whose worker died, a failed row whose retry was never scheduled are queued again and
delivered once; a fresh one is left alone. Staff's "Send again" (email_resend and the admin action)
puts a failed, given-up or sent email back in the queue, never one on its way."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Task
from django_q.scheduler import scheduler

from personalization import emails
from personalization.emails import (
    EmailNotResendable,
    email_cluster,
    email_queue,
    email_resend,
    email_sweep,
)
from personalization.models import EmailNotification, GenerationRequest
from personalization.tasks import email_send
from tests.email_helpers import (
    FailingBackend,
    purge_email_queue,
    queued_email_tasks,
    run_queued_emails,
)
from tests.factories import make_product, make_user
from tests.foundation_helpers import make_generation

pytestmark = pytest.mark.django_db
Status = EmailNotification.Status
KIND = "review_rejected"
BUILDER = "personalization.emails.build_review_rejected"
FAILING = f"{FailingBackend.__module__}.{FailingBackend.__qualname__}"
GRACE = 120
STALE = 900


@pytest.fixture(autouse=True)
def _emails(settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "EMAIL_PENDING_GRACE_SECONDS": GRACE,
        "EMAIL_SENDING_STALE_SECONDS": STALE,
        "EMAIL_RETRY_SECONDS": 60,
        "EMAIL_MAX_ATTEMPTS": 3,
    }
    purge_email_queue()
    yield
    purge_email_queue()


@pytest.fixture
def generation():
    return make_generation(
        make_product(slug="sweep-tee"),
        customer=make_user("grace"),  # grace@example.com
        status=GenerationRequest.Status.REJECTED,
        review_state=GenerationRequest.ReviewState.REJECTED,
        review_reason="The lion looks like a trademark.",
    )


def lost_email(generation, django_capture_on_commit_callbacks) -> EmailNotification:
    """Recorded with its transaction, but its task never reached the queue."""
    with django_capture_on_commit_callbacks(execute=False):
        assert email_queue(kind=KIND, key=generation.pk, builder=BUILDER)
    assert queued_email_tasks() == []
    return EmailNotification.objects.get()


def sweep(django_capture_on_commit_callbacks, *, after: float = 0) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return email_sweep(now=timezone.now() + timedelta(seconds=after))


def test_a_lost_task_is_queued_again_once_and_delivered_once(generation, django_capture_on_commit_callbacks):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    assert sweep(django_capture_on_commit_callbacks, after=GRACE + 1)["pending"] == 1
    assert sweep(django_capture_on_commit_callbacks, after=GRACE + 2)["pending"] == 0  # once per grace
    tasks = run_queued_emails()
    assert [t["args"] for t in tasks] == [(KIND, str(generation.pk))]
    [message] = mail.outbox
    assert message.to == ["grace@example.com"] and "trademark" in message.body
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert email_send(KIND, str(generation.pk)) == "sent"  # a late duplicate of the lost task
    assert sweep(django_capture_on_commit_callbacks, after=3 * GRACE) == {
        "pending": 0,
        "sending": 0,
        "failed": 0,
        "gave_up": 0,
    }
    assert len(mail.outbox) == 1


def test_a_fresh_pending_email_is_left_alone(generation, django_capture_on_commit_callbacks):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    assert sweep(django_capture_on_commit_callbacks, after=GRACE - 5)["pending"] == 0
    assert queued_email_tasks() == []
    row.refresh_from_db()
    assert (row.status, row.claimed_at) == (Status.PENDING, None)


def test_a_pending_email_queued_again_waits_another_grace(generation, django_capture_on_commit_callbacks):
    lost_email(generation, django_capture_on_commit_callbacks)
    assert sweep(django_capture_on_commit_callbacks, after=GRACE + 1)["pending"] == 1
    queued_email_tasks()  # lost again
    assert sweep(django_capture_on_commit_callbacks, after=GRACE + 60)["pending"] == 0
    assert sweep(django_capture_on_commit_callbacks, after=2 * GRACE + 2)["pending"] == 1
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 1


def claimed(row, *, seconds_ago: float, attempts: int = 1) -> None:
    EmailNotification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, attempts=attempts, claimed_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def test_a_stale_sending_email_is_recovered_and_sent(generation, django_capture_on_commit_callbacks):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    claimed(row, seconds_ago=30)  # a send in progress
    assert sweep(django_capture_on_commit_callbacks)["sending"] == 0
    claimed(row, seconds_ago=STALE + 1)  # the worker died mid-send
    assert sweep(django_capture_on_commit_callbacks)["sending"] == 1
    row.refresh_from_db()
    assert row.status == Status.PENDING and "stopped while sending" in row.last_error
    assert sweep(django_capture_on_commit_callbacks)["sending"] == 0  # recovered once
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")


def test_a_stale_sending_email_out_of_attempts_is_given_up(generation, django_capture_on_commit_callbacks):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    claimed(row, seconds_ago=STALE + 1, attempts=3)
    assert sweep(django_capture_on_commit_callbacks)["gave_up"] == 1
    row.refresh_from_db()
    assert row.status == Status.GAVE_UP and queued_email_tasks() == [] and mail.outbox == []


def failed_once(generation, settings, django_capture_on_commit_callbacks) -> EmailNotification:
    """A send that failed: the row is failed and its retry scheduled (emails._schedule_retry)."""
    settings.EMAIL_BACKEND = FAILING
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(kind=KIND, key=generation.pk, builder=BUILDER)
    run_queued_emails()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row = EmailNotification.objects.get()
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    return row


def test_a_failed_email_with_its_retry_scheduled_is_left_to_the_schedule(
    generation, settings, django_capture_on_commit_callbacks
):
    failed_once(generation, settings, django_capture_on_commit_callbacks)
    assert Schedule.objects.filter(func=emails.TASK).count() == 1
    assert sweep(django_capture_on_commit_callbacks, after=3600)["failed"] == 0
    assert queued_email_tasks() == []


def test_a_failed_email_whose_retry_was_never_scheduled_is_queued_when_due(
    generation, settings, django_capture_on_commit_callbacks
):
    row = failed_once(generation, settings, django_capture_on_commit_callbacks)
    Schedule.objects.filter(func=emails.TASK).delete()  # the schedule was never made (a database hiccup)
    assert sweep(django_capture_on_commit_callbacks, after=60 + GRACE - 5)["failed"] == 0  # not due yet
    assert sweep(django_capture_on_commit_callbacks, after=60 + GRACE + 5)["failed"] == 1
    assert sweep(django_capture_on_commit_callbacks, after=60 + GRACE + 6)["failed"] == 0
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_the_web_cluster_runs_the_sweep_on_a_schedule_made_by_migrate(
    generation, settings, monkeypatch, django_capture_on_commit_callbacks
):
    Schedule.objects.filter(name=emails.SWEEP_SCHEDULE).delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    schedule = Schedule.objects.get(name=emails.SWEEP_SCHEDULE)
    assert (schedule.func, schedule.cluster, schedule.schedule_type, schedule.minutes) == (
        "personalization.tasks.email_sweep",
        email_cluster(),
        Schedule.MINUTES,
        1,
    )
    row = lost_email(generation, django_capture_on_commit_callbacks)
    EmailNotification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=GRACE + 1)
    )
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    # What the web cluster's scheduler does every few seconds; in this process django-q2 runs the
    # tasks at once (Conf.SYNC, which also keeps the test's database connection open): the sweep,
    # then the email task it queued.
    monkeypatch.setattr(Conf, "SYNC", True)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler(broker=get_broker(email_cluster()))
    monkeypatch.undo()
    assert Task.objects.get(func="personalization.tasks.email_sweep").success
    assert Schedule.objects.get(pk=schedule.pk).next_run > timezone.now()  # and again in a minute
    assert len(mail.outbox) == 1 and EmailNotification.objects.get().status == Status.SENT

    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "EMAIL_SWEEP_MINUTES": 0}
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert not Schedule.objects.filter(name=emails.SWEEP_SCHEDULE).exists()


# --- "Send again" ---------------------------------------------------------------------------------


def sent_email(generation, django_capture_on_commit_callbacks) -> EmailNotification:
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(kind=KIND, key=generation.pk, builder=BUILDER)
    run_queued_emails()
    row = EmailNotification.objects.get()
    assert row.status == Status.SENT and len(mail.outbox) == 1
    return row


def test_resend_sends_a_sent_email_again(generation, django_capture_on_commit_callbacks):
    row = sent_email(generation, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        email_resend(notification=row)
        assert len(mail.outbox) == 1 and callbacks == []  # queued after the commit, not sent here
    assert (row.status, row.attempts, row.last_error) == (Status.PENDING, 0, "")
    assert len(mail.outbox) == 1
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 2
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


@pytest.mark.parametrize("status", [Status.FAILED, Status.GAVE_UP])
def test_resend_of_a_failed_or_given_up_email(generation, status, django_capture_on_commit_callbacks):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    EmailNotification.objects.filter(pk=row.pk).update(status=status, attempts=5, last_error="SMTPException")
    with django_capture_on_commit_callbacks(execute=True):
        email_resend(notification=row)
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("status", "reason"),
    [(Status.SENDING, "on its way"), (Status.PENDING, "on its way"), (Status.SKIPPED, "nothing to send")],
)
def test_resend_refuses_an_email_on_its_way_or_with_nothing_to_send(
    generation, status, reason, django_capture_on_commit_callbacks
):
    row = lost_email(generation, django_capture_on_commit_callbacks)
    EmailNotification.objects.filter(pk=row.pk).update(status=status, attempts=1)
    before = EmailNotification.objects.filter(pk=row.pk).values().get()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(EmailNotResendable, match=reason):
        email_resend(notification=row)
    assert EmailNotification.objects.filter(pk=row.pk).values().get() == before
    assert queued_email_tasks() == []


def test_the_send_again_action_is_for_superusers_and_sends_from_the_worker(
    generation, django_capture_on_commit_callbacks
):
    row = sent_email(generation, django_capture_on_commit_callbacks)
    other = EmailNotification.objects.create(
        kind="design_ready", key="x", builder=BUILDER, status=Status.SENDING
    )
    changelist = reverse("admin:personalization_emailnotification_changelist")
    staff = make_user("staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    client.post(changelist, {"action": "send_again", "_selected_action": [row.pk], "index": "0"})
    row.refresh_from_db()
    assert row.status == Status.SENT and queued_email_tasks() == []

    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert 'value="send_again"' in client.get(changelist).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist,
            {"action": "send_again", "_selected_action": [row.pk, other.pk], "index": "0"},
            follow=True,
        )
    texts = [str(m) for m in response.context["messages"]]
    assert "Queued 1 email(s) to be sent again." in texts, texts
    assert any("1 email(s) were left as they are: A sending email is on its way" in t for t in texts), texts
    assert len(mail.outbox) == 1  # nothing sent inside the admin request
    assert len(run_queued_emails()) == 1 and len(mail.outbox) == 2
    other.refresh_from_db()
    assert other.status == Status.SENDING
