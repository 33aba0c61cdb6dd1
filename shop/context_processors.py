def cart(request) -> dict:
    from .selectors import cart_line_count

    return {"cart_line_count": lambda: cart_line_count(request=request)}
