"""Writes of the host shop: cart and checkout."""

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from personalization.interface import (
    designs_for,
    freeze_design,
    order_refusal,
    preflight_refusal_for,
    queue_email,
    validate_text_layer,
)

from .emails import ORDER_CONFIRMATION
from .models import BaseColor, Cart, CartLine, Order, OrderLine, Product


def cart_get_or_create(*, user=None, session_key: str = "") -> Cart:
    if user is not None and user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=user)
        return cart
    cart = Cart.objects.filter(user=None, session_key=session_key).first()
    return cart or Cart.objects.create(session_key=session_key)


def cart_add(
    *,
    cart: Cart,
    product: Product,
    base_color: str,
    quantity: int = 1,
    design=None,
    text_layer: dict | None = None,
) -> CartLine:
    """Add a product; plain lines of the same product and colour merge, personalized lines never do.

    ``text_layer`` is the customer's text on the design, as ``interface.validate_text_layer``
    returned it ({} or None: no text). A design the brand will not print at its resolution (with
    this text) is refused."""
    if not product.is_published:
        raise ValidationError({"product": "This product is not for sale."})
    color = BaseColor.objects.filter(product=product, name__iexact=(base_color or "").strip()).first()
    if color is None:
        raise ValidationError({"base_color": "Choose one of this product's colours."})
    if design is not None:
        request = design.request
        if refusal := order_refusal(request):  # held for review, or refused after it
            raise ValidationError({"design": refusal})
        if request.product_id != product.pk or request.status != request.Status.SUCCEEDED:
            raise ValidationError({"design": "That design was not made for this product."})
        if request.base_color_name.casefold() != color.name.casefold():
            raise ValidationError({"base_color": "That design was made for another colour."})
        if refusal := preflight_refusal_for(design, text_layer or None):  # too few pixels to print
            raise ValidationError({"design": refusal})
    elif text_layer:
        raise ValidationError({"text": "Text can only be added to a personalized design."})
    if not isinstance(quantity, int) or not 1 <= quantity <= 99:
        raise ValidationError({"quantity": "Quantity must be between 1 and 99."})
    with transaction.atomic():
        if design is None:
            line = (
                CartLine.objects.select_for_update()
                .filter(cart=cart, product=product, base_color=color, design=None)
                .first()
            )
            if line is not None:
                line.quantity = min(99, line.quantity + quantity)
                line.full_clean()
                line.save(update_fields=["quantity"])
                return line
        line = CartLine(
            cart=cart,
            product=product,
            base_color=color,
            quantity=quantity,
            design=design,
            text_layer=dict(text_layer or {}),
        )
        line.full_clean()
        line.save()
        cart.save(update_fields=["updated_at"])
    return line


def cart_line_remove(*, cart: Cart, line_id: int) -> None:
    CartLine.objects.filter(cart=cart, pk=line_id).delete()


def cart_line_set_quantity(*, cart: Cart, line_id: int, quantity: int) -> CartLine:
    line = CartLine.objects.get(cart=cart, pk=line_id)
    if not isinstance(quantity, int) or not 1 <= quantity <= 99:
        raise ValidationError({"quantity": "Quantity must be between 1 and 99."})
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


def cart_merge_into_user(*, user, session_key: str) -> None:
    anonymous = Cart.objects.filter(user=None, session_key=session_key).first()
    if anonymous is None:
        return
    target = cart_get_or_create(user=user)
    with transaction.atomic():
        for line in anonymous.lines.select_related("product", "base_color", "design"):
            if line.design is None:
                try:  # plain lines of the same product and colour merge
                    with transaction.atomic():
                        cart_add(
                            cart=target,
                            product=line.product,
                            base_color=line.base_color.name,
                            quantity=line.quantity,
                        )
                    continue
                except ValidationError:
                    pass  # e.g. no longer for sale: kept as it is, for the checkout to refuse
            # Personalized lines never merge: moved as they are. What changed since they were added
            # (a product taken off sale, a brand that now blocks low-resolution designs, a font it
            # removed) is the checkout's to refuse, with its message; logging in must not fail on it.
            line.cart = target
            line.save(update_fields=["cart"])
            target.save(update_fields=["updated_at"])
        anonymous.delete()


def _order_number() -> str:
    return "PZ" + secrets.token_hex(4).upper()


def order_place(
    *,
    cart: Cart,
    checkout_token,
    full_name: str,
    email: str,
    address_line1: str,
    address_line2: str = "",
    city: str,
    postcode: str,
    country: str,
    user=None,
    session_key: str = "",
) -> Order:
    """Create the order in one transaction with frozen copies of prices and designs.

    A cart becomes at most one order, whatever the checkout tokens: the cart row is locked (select
    for update) and its lines are read under the lock, so a second checkout of the same cart (another
    browser tab, with its own token) waits for the first and then finds the cart emptied by it. It
    gets that first order back (``order.checkout_token`` differs from its own token: the cart was
    already ordered), never a second order. The same checkout_token twice returns the first order too
    (a double submit)."""
    existing = Order.objects.filter(checkout_token=checkout_token).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            locked = Cart.objects.select_for_update().filter(pk=cart.pk).first()
            if locked is None:  # deleted meanwhile (e.g. merged into an account's cart at login)
                raise ValidationError("Your cart is empty.")
            # Under the lock: what a concurrent checkout of this cart committed is visible now.
            existing = Order.objects.filter(checkout_token=checkout_token).first()
            if existing is not None:
                return existing
            lines = list(locked.lines.select_related("product", "base_color", "design__request"))
            if not lines:
                already = _order_that_emptied(locked)
                if already is not None:
                    return already
                raise ValidationError("Your cart is empty.")
            order = Order(
                number=_order_number(),
                checkout_token=checkout_token,
                cart=locked,
                user=user if user is not None and user.is_authenticated else None,
                session_key=session_key,
                full_name=full_name,
                email=email,
                address_line1=address_line1,
                address_line2=address_line2,
                city=city,
                postcode=postcode,
                country=(country or "").upper(),
            )
            order.total = sum((line.line_total for line in lines), 0)
            order.full_clean()
            order.save()
            for line in lines:
                order_line = OrderLine.objects.create(
                    order=order,
                    product=line.product,
                    product_name=line.product.name,
                    product_slug=line.product.slug,
                    product_type=line.product.product_type,
                    base_color_name=line.base_color.name,
                    base_color_hex=line.base_color.hex,
                    quantity=line.quantity,
                    unit_price=line.product.price,
                )
                if line.design is not None:
                    _freeze(order_line=order_line, line=line)
            locked.lines.all().delete()
            # The confirmation is recorded with the order and queued after the commit: the checkout
            # never waits for (or fails because of) a mail server; a rollback sends nothing.
            queue_email(kind=ORDER_CONFIRMATION, key=order.number, builder="shop.emails.order_confirmation")
    except IntegrityError:
        # A concurrent submit of the same checkout won the race.
        existing = Order.objects.filter(checkout_token=checkout_token).first()
        if existing is None:
            raise
        return existing
    return order


def _freeze(*, order_line: OrderLine, line: CartLine) -> None:
    """Freeze the line's design with its text; what no longer passes names the product."""
    try:
        freeze_design(order_line=order_line, image=line.design, text_layer=line.text_layer or None)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"design": exc.messages}
        if "design" in errors:
            raise
        # The brand changed its fonts, palette or word lists since the text went into the cart.
        reason = " ".join(message for messages in errors.values() for message in messages)
        raise ValidationError(
            {
                "text": f"The text on your {line.product.name} can no longer be printed: {reason} "
                "Remove the line and add the design again with another text."
            }
        ) from exc


def _order_that_emptied(cart: Cart) -> Order | None:
    """The order placed from this (now empty) cart, if nothing was added to the cart since: a second
    checkout of the same cart lands on it. An emptied cart that was filled again and emptied by hand
    has no such order ("Your cart is empty.")."""
    last = cart.orders.order_by("-created_at", "-pk").first()
    if last is not None and last.created_at >= cart.updated_at:
        return last
    return None


class OrderLinesInvalid(ValidationError):
    """Per-line errors of ``order_place_from_lines``: ``line_errors`` is aligned with the lines
    given, each a field -> [messages] dict (empty for a good line); "text_layer" maps to a dict of
    the text layer's keys -> [messages]."""

    def __init__(self, line_errors: list[dict]):
        self.line_errors = line_errors
        super().__init__({"lines": "One or more lines are invalid."})


def _design_for_line(*, user, generation_id, image_index):
    """The chosen variation of one of the caller's own succeeded generations (None: a plain line)."""
    if generation_id is None:
        if image_index is not None:
            raise ValidationError({"image_index": "Give the generation this image belongs to."})
        return None
    generation = designs_for(user=user).filter(pk=generation_id).first()
    if generation is None:
        raise ValidationError({"generation": "No design with this id."})
    if refusal := order_refusal(generation):
        raise ValidationError({"generation": refusal})
    if generation.status != generation.Status.SUCCEEDED:
        raise ValidationError(
            {"generation": f"This design is {generation.get_status_display().lower()}, not ready."}
        )
    image = generation.images.filter(index=image_index or 0).first()
    if image is None:
        raise ValidationError({"image_index": "This design has no image with this index."})
    return image


class TextLayerInvalid(ValidationError):
    """A line's text layer does not pass: field -> [messages] under the text layer's keys."""


def _text_layer_for_line(design, values: dict | None) -> dict:
    """A line spec's text layer, validated by the plugin ({} for none)."""
    if not values or not (values.get("text") or "").strip():
        return {}
    if design is None:
        raise TextLayerInvalid({"text": "Text can only be added to a personalized design (give generation)."})
    try:
        return validate_text_layer(design, values)
    except ValidationError as exc:
        raise TextLayerInvalid(
            exc.message_dict if hasattr(exc, "error_dict") else {"text": exc.messages}
        ) from exc


def order_place_from_lines(
    *,
    lines: list[dict],
    user,
    full_name: str,
    email: str,
    address_line1: str,
    address_line2: str = "",
    city: str,
    postcode: str,
    country: str,
    session_key: str = "",
) -> Order:
    """Place an order from line specs instead of a stored cart (the REST API).

    Each line: product (a Product), base_color (name), quantity, and optionally generation (the id of
    one of the user's succeeded generation requests) with image_index (default 0) and text_layer (the
    customer's text: text, kind, font, color, size, position, curve). The lines go through a
    transient cart, so the storefront's rules (cart_add, order_place) apply unchanged. Raises
    OrderLinesInvalid for bad lines (a bad text under "text_layer", by its keys) and
    ValidationError for bad shipping details."""
    with transaction.atomic():
        cart = Cart.objects.create(session_key=f"transient-{secrets.token_hex(8)}")
        line_errors: list[dict] = []
        for spec in lines:
            try:
                design = _design_for_line(
                    user=user, generation_id=spec.get("generation"), image_index=spec.get("image_index")
                )
                cart_add(
                    cart=cart,
                    product=spec["product"],
                    base_color=spec["base_color"],
                    quantity=spec.get("quantity", 1),
                    design=design,
                    text_layer=_text_layer_for_line(design, spec.get("text_layer")),
                )
                line_errors.append({})
            except TextLayerInvalid as exc:
                line_errors.append({"text_layer": exc.message_dict})
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                # cart_add calls the chosen variation "design"; a line spec calls it "generation".
                line_errors.append({("generation" if k == "design" else k): v for k, v in errors.items()})
        if any(line_errors):
            raise OrderLinesInvalid(line_errors)
        order = order_place(
            cart=cart,
            checkout_token=uuid.uuid4(),
            full_name=full_name,
            email=email,
            address_line1=address_line1,
            address_line2=address_line2,
            city=city,
            postcode=postcode,
            country=country,
            user=user,
            session_key=session_key,
        )
        cart.delete()
    return order
