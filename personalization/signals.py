"""The plugin's own signal receivers (connected in ``PersonalizationConfig.ready``)."""

from .visitors import SESSION_KEY


def claim_visitor_designs(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: the designs the visitor made before logging in join the account's gallery.
    A host does nothing for it; its own receivers (e.g. a cart merge) read the same visitor key
    through ``interface.visitor_session_key``."""
    from .services import generations_claim_for_user

    session = getattr(request, "session", None)
    session_key = session.get(SESSION_KEY, "") if session is not None else ""
    if session_key:
        generations_claim_for_user(user=user, session_key=session_key)
