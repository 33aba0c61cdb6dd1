"""Customer emails in tests: run what the default django-q2 cluster ("web") has queued, in this
process, through django-q2's own worker and result handling, whatever the broker (ORM or Redis).
Django's test runner swaps the email backend for locmem (``mail.outbox``)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django_q.brokers import Broker, get_broker
from django_q.signing import SignedPackage
from django_q.tasks import _sync

from personalization.emails import email_cluster


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("421 the mail server is not answering")


def queued_email_tasks() -> list[dict]:
    """The email tasks waiting on the default cluster, taken off the queue."""
    broker = get_broker(email_cluster())
    tasks = []
    while broker.queue_size():
        for ack_id, payload in broker.dequeue() or []:
            tasks.append(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)
    return [t for t in tasks if t["func"] == "personalization.tasks.email_send"]


def run_queued_emails() -> list[dict]:
    """Run the queued email tasks as a worker of the default cluster would (a failure is recorded as
    a failed django-q2 Task, as in the cluster). Returns the tasks run."""
    tasks = queued_email_tasks()
    for task in tasks:
        run_task(task)
    return tasks


def run_task(task: dict) -> None:
    """One task through django-q2's worker and monitor, in this process: an exception is caught and
    saved as a failed Task, as in a cluster. (Conf.SYNC only keeps the test's database connection
    open; the task itself is not marked sync, which would re-raise instead.)"""
    from django_q.conf import Conf

    previous, Conf.SYNC = Conf.SYNC, True
    try:
        _sync(SignedPackage.dumps({k: v for k, v in task.items() if k != "sync"}))
    finally:
        Conf.SYNC = previous


def purge_email_queue() -> None:
    """Another test's tasks (a Redis broker outlives the test transaction) are not this test's."""
    queued_email_tasks()


class UnreachableBroker(Broker):
    """A queue that is down (django-q2's BROKER_CLASS): nothing can be queued."""

    def enqueue(self, task):
        raise ConnectionError("the queue is not answering")
