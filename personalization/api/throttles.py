"""Scoped throttles of the REST API.

DRF copies ``DEFAULT_THROTTLE_RATES`` onto its throttle classes when they are imported; these read
the rate from the current settings instead, so a deploy's or a test's settings always apply.
The client's address comes from ``get_ident``, which honours ``REST_FRAMEWORK["NUM_PROXIES"]``:
behind N proxies only the address the N-th proxy saw counts, so rotating ``X-Forwarded-For``
does not reset the per-IP limit.
An idempotent replay is let past these by the view (``idempotency.IdempotentCreateMixin``).
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class _SettingsRateMixin:
    scope: str

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for the {self.scope!r} scope") from None


class _ClientAddressThrottle(_SettingsRateMixin, SimpleRateThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GenerationSubmitUserThrottle(_SettingsRateMixin, UserRateThrottle):
    """Generation submits per account."""

    scope = "generation_submit_user"


class GenerationSubmitIPThrottle(_ClientAddressThrottle):
    """Generation submits per client address, whoever is logged in."""

    scope = "generation_submit_ip"


class OrderCreateUserThrottle(_SettingsRateMixin, UserRateThrottle):
    """Orders placed per account (``POST orders/`` of the host shop's API)."""

    scope = "order_create_user"


class AuthTokenThrottle(_ClientAddressThrottle):
    """Token requests (password guesses) per client address."""

    scope = "auth_token"
