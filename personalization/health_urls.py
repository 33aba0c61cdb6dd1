"""The health endpoints, for the host's root URLconf: ``path("", include(interface.HEALTH_URLS))``."""

from django.urls import path

from . import health_views

urlpatterns = [
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
]
