"""Merge a visitor's anonymous cart into the account at login (the plugin claims the visitor's
designs itself, with its own receiver)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from personalization.interface import visitor_session_key


@receiver(user_logged_in)
def merge_visitor_data(sender, request, user, **kwargs) -> None:
    from .services import cart_merge_into_user

    session_key = visitor_session_key(request)
    if session_key:
        cart_merge_into_user(user=user, session_key=session_key)
