"""A stable key for an anonymous visitor, kept in the session (it survives login's key rotation)."""

import secrets

SESSION_KEY = "visitor_key"


def visitor_key(request) -> str:
    key = request.session.get(SESSION_KEY)
    if not key:
        key = secrets.token_hex(16)
        request.session[SESSION_KEY] = key
    return key
