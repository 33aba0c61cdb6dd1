from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


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
