"""The project's REST API v1 namespace ("api"): the token view (apikit) next to the plugin's
generation endpoints (``interface.API_URLS``), so both keep their names (``api:auth-token``,
``api:generation-list``, ...). config/urls.py mounts it under /api/v1/."""

from importlib import import_module

from django.urls import path

from apikit.views import AuthTokenView
from personalization.interface import API_URLS, ClientAddressThrottle


class AuthTokenThrottle(ClientAddressThrottle):
    """Token requests (password guesses) per client address, counted exactly (the plugin's
    counter-backed throttle) under the ``auth_token`` rate."""

    scope = "auth_token"


app_name = "api"

urlpatterns = [
    path("auth/token/", AuthTokenView.as_view(throttle_classes=(AuthTokenThrottle,)), name="auth-token"),
    *import_module(API_URLS).urlpatterns,
]
