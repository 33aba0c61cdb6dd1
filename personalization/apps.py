import logging

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db import DatabaseError
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)


class PersonalizationConfig(AppConfig):
    name = "personalization"
    verbose_name = "AI personalization"

    def ready(self) -> None:
        # The system checks of the host's settings (E001-E004), and the receiver that forgets the
        # cached host adapter when the settings change (tests).
        from . import checks, hosts  # noqa: F401

        # The plugin claims a visitor's designs at login itself; a host connects nothing for it.
        from .signals import claim_visitor_designs

        user_logged_in.connect(claim_visitor_designs, dispatch_uid="personalization.claim_visitor_designs")
        post_migrate.connect(
            ensure_email_sweep_schedule, sender=self, dispatch_uid="personalization.email_sweep_schedule"
        )
        # Each new worker process of the GPU cluster beats (personalization.heartbeat).
        from django_q.signals import post_spawn

        from .heartbeat import on_worker_spawn

        post_spawn.connect(on_worker_spawn, dispatch_uid="personalization.worker_heartbeat")
        # ... then loads and warms up before its first task (personalization.startup): after the
        # heartbeat's receiver, so the process beats while it loads.
        from .startup import on_worker_spawn as load_on_spawn

        post_spawn.connect(load_on_spawn, dispatch_uid="personalization.worker_warm_start")


def ensure_email_sweep_schedule(sender, using="default", **kwargs) -> None:
    """After migrate: the django-q2 schedule of the email sweeper (personalization.emails)."""
    from .emails import email_sweep_schedule_ensure

    try:
        email_sweep_schedule_ensure(using=using)
    except DatabaseError as exc:  # a partial migrate without django-q2's tables: the next full one
        logger.warning("Email sweep schedule not made: %s", exc)
