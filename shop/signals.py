"""Merge a visitor's anonymous cart and generations into the account at login."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in)
def merge_visitor_data(sender, request, user, **kwargs) -> None:
    from personalization.services import generations_claim_for_user
    from personalization.visitors import SESSION_KEY

    from .services import cart_merge_into_user

    session_key = request.session.get(SESSION_KEY, "")
    if session_key:
        generations_claim_for_user(user=user, session_key=session_key)
        cart_merge_into_user(user=user, session_key=session_key)
