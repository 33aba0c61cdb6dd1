from django.apps import AppConfig
from django.db.models.signals import post_save


class OscarHostConfig(AppConfig):
    """The django-oscar test host's glue (no models): see tests.hosts.oscar.integration."""

    name = "tests.hosts.oscar"
    label = "oscar_host"
    verbose_name = "Oscar host"

    def ready(self) -> None:
        from oscar.core.loading import get_model

        from .integration import freeze_line_design

        post_save.connect(
            freeze_line_design,
            sender=get_model("order", "LineAttribute"),
            dispatch_uid="oscar_host.freeze_line_design",
        )
