from django.apps import AppConfig


class ApikitConfig(AppConfig):
    """The project-level API toolkit shared by the plugin's API and the host shop's API: error
    envelope, parsers, pagination, idempotent POSTs, the token view. Imports no other project app."""

    default = True
    name = "apikit"
    label = "apikit"
    verbose_name = "API toolkit"
