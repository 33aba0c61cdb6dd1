from .models import Cart, CartLine


def cart_for_request(request) -> Cart | None:
    from personalization.visitors import SESSION_KEY

    if request.user.is_authenticated:
        return Cart.objects.filter(user=request.user).first()
    key = request.session.get(SESSION_KEY)
    return Cart.objects.filter(user=None, session_key=key).first() if key else None


def cart_line_count(*, request) -> int:
    cart = cart_for_request(request)
    return CartLine.objects.filter(cart=cart).count() if cart else 0
