from personalization.interface import visitor_session_key

from .models import Cart, CartLine


def cart_for_request(request) -> Cart | None:
    if request.user.is_authenticated:
        return Cart.objects.filter(user=request.user).first()
    key = visitor_session_key(request)
    return Cart.objects.filter(user=None, session_key=key).first() if key else None


def cart_line_count(*, request) -> int:
    cart = cart_for_request(request)
    return CartLine.objects.filter(cart=cart).count() if cart else 0
