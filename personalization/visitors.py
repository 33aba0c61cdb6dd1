"""Who is asking: a stable key for an anonymous visitor, kept in the session (it survives login's
key rotation), and the client's address as the throttles see it."""

import secrets

from rest_framework.throttling import BaseThrottle

SESSION_KEY = "visitor_key"


def visitor_key(request) -> str:
    key = request.session.get(SESSION_KEY)
    if not key:
        key = secrets.token_hex(16)
        request.session[SESSION_KEY] = key
    return key


def client_ip(request) -> str:
    """The client's address by DRF's rule (``REST_FRAMEWORK["NUM_PROXIES"]``): behind N proxies the
    address the N-th proxy saw, so what a client writes into X-Forwarded-For does not count. The API
    throttles, the studio's and the per-address quota all use this one rule."""
    return BaseThrottle().get_ident(request) or ""
