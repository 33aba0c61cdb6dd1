"""The oscar host's glue: a finished design goes into oscar's basket and is frozen onto the order.

No oscar app is forked. Two of oscar's own extension points carry a design:

- **a product option.** Products of the ``personalizable`` product class carry the option
  ``personalized-design`` (``personalizable_product_class()`` sets the class up). Adding a design to
  the basket (``basket_add_design``) stores the chosen variation as that option's value on the
  basket line: ``<generation id>:<variation index>:<owner>:<signature>``. Oscar keeps lines with
  different option values apart, so two designs of the same product stay two lines. The value is
  signed when the design's owner adds it, so a value typed into oscar's own product form is refused.
  Oscar shows option values on the basket and order pages, so a value can be seen and copied: it
  names its owner (``user=<id>``, or ``visitor=<visitor key>,basket=<basket id>`` for a visitor who
  is not logged in), and placing the order checks that the design is the order's customer's own
  (``interface.designs_for``), so only its owner can order it. A text or monogram the customer set
  on the design (validated by ``interface.validate_text_layer``) travels in the same signed value
  (``text=<base64 JSON>``), so it cannot be changed after it was checked.
- **the order line's attributes.** Oscar's ``OrderCreator`` copies each basket line attribute onto
  the order line (``order.LineAttribute``) inside the transaction that writes the order. When the
  design option's attribute is written, ``freeze_line_design`` freezes the design onto the order
  line with ``personalization.interface.freeze_design``. A design that may no longer be ordered
  (held for review after it went into the basket, refused) raises oscar's ``UnableToPlaceOrder``:
  the whole order is rolled back and oscar's checkout shows the message on its preview page.
  (Oscar's ``order_placed`` signal would come after that transaction has committed: an order
  without its design could no longer be undone.)

The plugin is reached only through ``personalization.interface``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from oscar.core.loading import get_class, get_model

from personalization import interface

from .host import (
    BASE_COLORS,
    BRAND,
    MODEL_PRESET,
    PRINT_DPI,
    PRINT_HEIGHT_MM,
    PRINT_WIDTH_MM,
    PRODUCT_CLASS_SLUG,
    PRODUCT_TYPE,
)

DESIGN_OPTION_CODE = "personalized-design"
_SIGNER_SALT = "tests.hosts.oscar.design"

NOT_A_DESIGN = "This is not a design made in the studio. Open the studio to make one."
NO_SUCH_DESIGN = "No such design."
NOT_YOURS = "This design was made by another customer: only they can order it."


@dataclass(frozen=True)
class SignedDesign:
    """What a design option's value names: the variation and who put it into a basket."""

    image: object  # personalization's GenerationImage
    user_id: int | None = None
    session_key: str = ""
    basket_id: int | None = None
    text_layer: dict = field(default_factory=dict)  # TextLayer.as_dict(), {} for none


# --- catalogue ---------------------------------------------------------------------------------


def design_option():
    """The oscar product option that carries a design (created on first use)."""
    Option = get_model("catalogue", "Option")
    option, _ = Option.objects.get_or_create(
        code=DESIGN_OPTION_CODE,
        defaults={"name": "Personalized design", "type": Option.TEXT, "required": True},
    )
    return option


def personalizable_product_class():
    """The oscar product class of personalizable products: its attributes hold what the plugin reads
    (see ``host``), and every product of it gets the design option. Idempotent."""
    ProductClass = get_model("catalogue", "ProductClass")
    ProductAttribute = get_model("catalogue", "ProductAttribute")
    product_class, _ = ProductClass.objects.get_or_create(
        slug=PRODUCT_CLASS_SLUG,
        defaults={"name": "Personalizable product", "requires_shipping": True, "track_stock": False},
    )
    attributes = [
        (BRAND, "Brand guide (id)", ProductAttribute.INTEGER, True),
        (PRODUCT_TYPE, "Product type", ProductAttribute.TEXT, True),
        (PRINT_WIDTH_MM, "Print area width (mm)", ProductAttribute.FLOAT, True),
        (PRINT_HEIGHT_MM, "Print area height (mm)", ProductAttribute.FLOAT, True),
        (PRINT_DPI, "Print resolution (dpi)", ProductAttribute.INTEGER, False),
        (BASE_COLORS, "Base colours (Name=#rrggbb, ...)", ProductAttribute.TEXT, True),
        (MODEL_PRESET, "Model preset (empty: the brand's)", ProductAttribute.TEXT, False),
    ]
    for code, name, type_, required in attributes:
        ProductAttribute.objects.get_or_create(
            product_class=product_class,
            code=code,
            defaults={"name": name, "type": type_, "required": required},
        )
    product_class.options.add(design_option())
    return product_class


# --- the option's value --------------------------------------------------------------------------


def design_value(image, *, basket, session_key: str = "", text_layer: dict | None = None) -> str:
    """The option value naming one variation of a design and its owner, signed: the basket's
    customer (``user=<id>``), or for a basket without one the visitor and that basket; plus the
    validated text layer, if any (``text=<urlsafe base64 of its JSON>``)."""
    if basket.owner_id is not None:
        owner = f"user={basket.owner_id}"
    else:
        owner = f"visitor={session_key},basket={basket.pk}"
    if text_layer:
        packed = json.dumps(text_layer, sort_keys=True, separators=(",", ":")).encode()
        owner += ",text=" + base64.urlsafe_b64encode(packed).decode().rstrip("=")
    return signing.Signer(salt=_SIGNER_SALT).sign(f"{image.request_id}:{image.index}:{owner}")


def _text_layer_of(packed: str) -> dict:
    data = json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
    if not isinstance(data, dict):
        raise ValueError("not a text layer")
    return data


def design_from_value(value) -> SignedDesign | None:
    """The variation and owner a signed option value names, or None (not signed here, unknown)."""
    try:
        generation_id, index, owner = signing.Signer(salt=_SIGNER_SALT).unsign(str(value)).split(":", 2)
        generation_id, index = uuid.UUID(generation_id), int(index)
        parts = dict(part.split("=", 1) for part in owner.split(","))
        user_id = int(parts["user"]) if "user" in parts else None
        basket_id = int(parts["basket"]) if "basket" in parts else None
        text_layer = _text_layer_of(parts["text"]) if "text" in parts else {}
    except (signing.BadSignature, ValueError, KeyError):
        return None
    image = (
        interface.GenerationImage.objects.select_related("request")
        .filter(request_id=generation_id, index=index)
        .first()
    )
    if image is None:
        return None
    return SignedDesign(
        image,
        user_id=user_id,
        session_key=parts.get("visitor", ""),
        basket_id=basket_id,
        text_layer=text_layer,
    )


def owner_refusal(signed: SignedDesign, *, user, basket_id) -> str:
    """Why the customer ``user`` (None: a guest) may not order this design from the basket
    ``basket_id`` ("" when they may): it must be one of their own designs."""
    generation_id = signed.image.request_id
    if user is not None:
        if signed.user_id is not None and signed.user_id != user.pk:
            return NOT_YOURS
        # A visitor's design joined the account when they logged in (the plugin's login claim).
        if not interface.designs_for(user=user).filter(pk=generation_id).exists():
            return NOT_YOURS
        return ""
    # A guest: no account to compare, so the value must be the one made for this very basket.
    if signed.user_id is not None or not signed.session_key or signed.basket_id != basket_id:
        return NOT_YOURS
    if not interface.designs_for(session_key=signed.session_key).filter(pk=generation_id).exists():
        return NOT_YOURS
    return ""


def design_refusal(image, *, product) -> str:
    """Why this variation may not go into a basket or an order for ``product`` ("" when it may)."""
    generation = image.request
    if refusal := interface.order_refusal(generation):  # held for review, or refused after it
        return refusal
    if generation.status != interface.GenerationRequest.Status.SUCCEEDED:
        return f"This design is {generation.get_status_display().lower()}, so it cannot be ordered."
    if generation.product_id != product.pk:
        return "That design was not made for this product."
    if not product.options.filter(code=DESIGN_OPTION_CODE).exists():
        return "This product cannot be personalized."
    return ""


# --- basket ------------------------------------------------------------------------------------


def own_design(*, generation_id, image_index, user=None, session_key: str = ""):
    """One variation of one of the customer's own designs; ValidationError when there is none."""
    try:
        generation_id = uuid.UUID(str(generation_id))
        image_index = int(image_index)
    except (TypeError, ValueError):
        raise ValidationError({"design": NO_SUCH_DESIGN}) from None
    generation = interface.designs_for(user=user, session_key=session_key).filter(pk=generation_id).first()
    image = generation.images.filter(index=image_index).first() if generation is not None else None
    if image is None:
        raise ValidationError({"design": NO_SUCH_DESIGN})
    return image


def basket_add_design(*, basket, image, session_key: str = "", quantity: int = 1, text=None):
    """Put one variation of a design into an oscar basket as a line of its product with the design
    option. Returns the basket line. Raises ValidationError ("design") when it may not be ordered or
    is not the basket owner's (the visitor's, ``session_key``, for a basket without an owner), and
    ValidationError under the text's keys for a text or monogram (``text``: a mapping with the keys
    text, kind, font, color, size, position, curve) that cannot be printed. The basket needs its
    pricing strategy (``request.basket`` has it)."""
    product = image.request.product
    owned = interface.designs_for(user=basket.owner, session_key=None if basket.owner_id else session_key)
    if not owned.filter(pk=image.request_id).exists():
        raise ValidationError({"design": NO_SUCH_DESIGN})
    if refusal := design_refusal(image, product=product):
        raise ValidationError({"design": refusal})
    if not isinstance(quantity, int) or not 1 <= quantity <= 99:
        raise ValidationError({"quantity": "Quantity must be between 1 and 99."})
    text_layer = interface.validate_text_layer(image, text or {})
    if refusal := interface.preflight_refusal_for(image, text_layer):
        raise ValidationError({"design": refusal})
    if basket.pk is None:
        basket.save()  # a visitor's new cookie basket: the value names it, so it needs its id now
    line, _ = basket.add_product(
        product,
        quantity=quantity,
        options=[
            {
                "option": design_option(),
                "value": design_value(image, basket=basket, session_key=session_key, text_layer=text_layer),
            }
        ],
    )
    return line


def basket_design_problems(basket) -> list[str]:
    """What keeps the basket's designs from being ordered now, one message per line (for a page that
    wants to warn before checkout; placing the order checks again)."""
    problems = []
    for line in basket.all_lines():
        for attribute in line.attributes.all():
            if attribute.option.code != DESIGN_OPTION_CODE:
                continue
            signed = design_from_value(attribute.value)
            if signed is None:
                refusal = NOT_A_DESIGN
            else:
                refusal = owner_refusal(signed, user=basket.owner, basket_id=basket.pk) or design_refusal(
                    signed.image, product=line.product
                )
            if refusal:
                problems.append(f"{line.product.get_title()}: {refusal}")
    return problems


# --- order ---------------------------------------------------------------------------------------


def freeze_line_design(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """``post_save`` of oscar's ``order.LineAttribute``: the design option's value, copied from the
    basket line by ``OrderCreator``, freezes that design onto the order line (same transaction)."""
    if not created or raw or instance.type != DESIGN_OPTION_CODE:
        return
    UnableToPlaceOrder = get_class("order.exceptions", "UnableToPlaceOrder")
    order_line = instance.line
    signed = design_from_value(instance.value)
    if signed is None:
        raise UnableToPlaceOrder(f"{order_line.title}: {NOT_A_DESIGN}")
    order = order_line.order
    if refusal := owner_refusal(signed, user=order.user, basket_id=order.basket_id):
        raise UnableToPlaceOrder(f"{order_line.title}: {refusal}")
    image = signed.image
    if refusal := design_refusal(image, product=order_line.product):
        raise UnableToPlaceOrder(f"{order_line.title}: {refusal}")
    try:
        with transaction.atomic():
            interface.freeze_design(order_line=order_line, image=image, text_layer=signed.text_layer)
    except ValidationError as exc:
        messages = " ".join(exc.messages)
        raise UnableToPlaceOrder(f"{order_line.title}: {messages}") from exc
