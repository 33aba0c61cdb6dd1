"""Counter-backed throttles (``limits``): the plugin's submit throttles and the bases a host's API
subclasses for its own scopes (``interface.AccountThrottle``, ``interface.ClientAddressThrottle``).

Each allowed request takes one unit of an atomic usage counter, so a burst from many parallel
connections gets exactly the rate's number of requests, as a sequential one does. The rate is read
from ``DEFAULT_THROTTLE_RATES`` at each request (DRF would copy it when the class is imported), so a
deploy's or a test's settings always apply; windows are aligned to the clock (``limits``).

The client's address comes from DRF's ``get_ident`` (``visitors.client_ip``), which honours
``REST_FRAMEWORK["NUM_PROXIES"]``: behind N proxies only the address the N-th proxy saw counts, so
rotating ``X-Forwarded-For`` does not reset the per-IP limit. Keys hold a salted hash of it.

A view's throttles are all-or-nothing: when one refuses, the units the others took for this request
are given back and the rest take nothing. An idempotent replay is let past them by the view
(``apikit.idempotency.IdempotentCreateMixin``).
"""

from dataclasses import dataclass, field

from rest_framework.throttling import SimpleRateThrottle

from .. import limits
from ..visitors import client_ip

_REQUEST_STATE = "_limits_throttle_state"


@dataclass
class _State:
    """This request's throttle bookkeeping: the units taken so far, and whether one refused."""

    charges: list = field(default_factory=list)
    refused: bool = False


class CounterThrottle(SimpleRateThrottle):
    """A throttle of one ``scope`` (its rate in ``DEFAULT_THROTTLE_RATES``) counted per ``subject``
    in the database. Subclasses say who is counted; ``scope`` must have a rate in settings."""

    scope: str

    def get_rate(self):
        return limits.scope_rate(self.scope)

    def parse_rate(self, rate):
        return (None, None) if rate is None else limits.parse_rate(rate)

    def subject(self, request) -> str:
        raise NotImplementedError

    def get_cache_key(self, request, view):  # DRF's abstract hook; these throttles use no cache
        return f"rate:{self.scope}:{self.subject(request)}"

    def limit(self, request) -> limits.Limit | None:
        """The window this request counts in (None: unlimited)."""
        return limits.rate_limit(scope=self.scope, subject=self.subject(request))

    def allow_request(self, request, view) -> bool:
        self._wait = None
        limit = self.limit(request)
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


class AccountThrottle(CounterThrottle):
    """Counts per account (an anonymous caller: per client address)."""

    def subject(self, request) -> str:
        return limits.account_subject(user=request.user, visitor=None, address=client_ip(request))


class ClientAddressThrottle(CounterThrottle):
    """Counts per client address, whoever is logged in."""

    def subject(self, request) -> str:
        return limits.ip_subject(client_ip(request))


class DesignPreviewThrottle(AccountThrottle):
    """Live text previews per account, counted with the studio's (the plugin's DESIGN_PREVIEW_RATE)."""

    scope = limits.DESIGN_PREVIEW_SCOPE

    def get_rate(self):
        from personalization.conf import conf

        return conf.DESIGN_PREVIEW_RATE

    def limit(self, request) -> limits.Limit | None:
        found = limits.design_preview_limits(user=request.user, visitor=None, address=client_ip(request))
        return found[0] if found else None


class GenerationSubmitUserThrottle(AccountThrottle):
    """Generation submits per account."""

    scope = limits.GENERATION_SUBMIT_USER_SCOPE


class GenerationSubmitIPThrottle(ClientAddressThrottle):
    """Generation submits per client address, whoever is logged in."""

    scope = limits.GENERATION_SUBMIT_IP_SCOPE
