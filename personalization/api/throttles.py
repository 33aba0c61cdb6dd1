"""Scoped throttles of the REST API (and the studio's submit limits), counted by ``limits``.

Each allowed request takes one unit of an atomic usage counter, so a burst from many parallel
connections gets exactly the rate's number of requests, as a sequential one does. The rate is read
from ``DEFAULT_THROTTLE_RATES`` at each request (DRF would copy it when the class is imported), so a
deploy's or a test's settings always apply; windows are aligned to the clock (``limits``).

The client's address comes from DRF's ``get_ident`` (``visitors.client_ip``), which honours
``REST_FRAMEWORK["NUM_PROXIES"]``: behind N proxies only the address the N-th proxy saw counts, so
rotating ``X-Forwarded-For`` does not reset the per-IP limit. Keys hold a salted hash of it.

A view's throttles are all-or-nothing: when one refuses, the units the others took for this request
are given back and the rest take nothing. An idempotent replay is let past them by the view
(``idempotency.IdempotentCreateMixin``).
"""

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .. import limits
from ..visitors import client_ip

_REQUEST_STATE = "_limits_throttle_state"


def _rate(scope: str) -> str | None:
    try:
        return api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError:
        raise ImproperlyConfigured(f"No throttle rate set for the {scope!r} scope") from None


def _parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate syntax: "30/min" -> (30, 60); the period's first letter (s, m, h, d) counts."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]


def rate_limit(*, scope: str, subject: str) -> limits.Limit | None:
    """The limit of ``scope`` (its DRF rate, e.g. "30/min") for one subject; None if the rate is None."""
    rate = _rate(scope)
    if rate is None:
        return None
    number, window = _parse_rate(rate)
    return limits.Limit(key=f"rate:{scope}:{subject}", limit=number, window=window)


def ip_subject(address: str | None) -> str:
    return f"ip:{limits.subject_hash(address or '')}"


def account_subject(*, user, visitor: str | None, address: str | None) -> str:
    """Who a per-account limit counts: the account, else the anonymous visitor, else the address."""
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    if visitor:
        return f"visitor:{limits.subject_hash(visitor)}"
    return ip_subject(address)


def generation_submit_limits(*, user, visitor: str | None, address: str | None) -> list[limits.Limit]:
    """The studio's and the API's submit limits: per account (or visitor) and per client address."""
    found = [
        rate_limit(
            scope=GenerationSubmitUserThrottle.scope,
            subject=account_subject(user=user, visitor=visitor, address=address),
        ),
        rate_limit(scope=GenerationSubmitIPThrottle.scope, subject=ip_subject(address)),
    ]
    return [limit for limit in found if limit is not None]


@dataclass
class _State:
    """This request's throttle bookkeeping: the units taken so far, and whether one refused."""

    charges: list = field(default_factory=list)
    refused: bool = False


class _LimitThrottle(SimpleRateThrottle):
    scope: str

    def get_rate(self):
        return _rate(self.scope)

    def parse_rate(self, rate):
        return (None, None) if rate is None else _parse_rate(rate)

    def subject(self, request) -> str:
        raise NotImplementedError

    def get_cache_key(self, request, view):  # DRF's abstract hook; these throttles use no cache
        return f"rate:{self.scope}:{self.subject(request)}"

    def allow_request(self, request, view) -> bool:
        self._wait = None
        limit = rate_limit(scope=self.scope, subject=self.subject(request))
        if limit is None:
            return True
        state = getattr(request, _REQUEST_STATE, None)
        if state is None:
            state = _State()
            setattr(request, _REQUEST_STATE, state)
        if state.refused:  # another throttle refused: take nothing, only say whether this one would too
            self._wait = limits.exhausted(limit=limit)
            return self._wait is None
        outcome = limits.take_all(limits=[limit])
        if outcome.allowed:
            state.charges.extend(outcome.charges)
            return True
        limits.give_back(charges=state.charges)
        state.charges.clear()
        state.refused = True
        self._wait = outcome.retry_after
        return False

    def wait(self):
        return self._wait


class _AccountThrottle(_LimitThrottle):
    def subject(self, request) -> str:
        return account_subject(user=request.user, visitor=None, address=client_ip(request))


class _ClientAddressThrottle(_LimitThrottle):
    def subject(self, request) -> str:
        return ip_subject(client_ip(request))


class GenerationSubmitUserThrottle(_AccountThrottle):
    """Generation submits per account."""

    scope = "generation_submit_user"


class GenerationSubmitIPThrottle(_ClientAddressThrottle):
    """Generation submits per client address, whoever is logged in."""

    scope = "generation_submit_ip"


class OrderCreateUserThrottle(_AccountThrottle):
    """Orders placed per account (``POST orders/`` of the host shop's API)."""

    scope = "order_create_user"


class AuthTokenThrottle(_ClientAddressThrottle):
    """Token requests (password guesses) per client address."""

    scope = "auth_token"
