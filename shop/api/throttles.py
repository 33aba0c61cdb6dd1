"""The shop API's throttles: counter-backed (exact under parallel requests), on the plugin's base."""

from personalization.interface import AccountThrottle


class OrderCreateUserThrottle(AccountThrottle):
    """Orders placed per account (``POST orders/``)."""

    scope = "order_create_user"
