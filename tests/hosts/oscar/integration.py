"""The oscar host's glue: a finished design goes into oscar's basket and is frozen onto the order.

No oscar app is forked. Two of oscar's own extension points carry a design:

- **a product option.** Products of the ``personalizable`` product class carry the option
  ``personalized-design`` (``personalizable_product_class()`` sets the class up). Adding a design to
  the basket (``basket_add_design``) stores the chosen variation as that option's value on the
  basket line: ``<generation id>:<variation index>:<signature>``. Oscar keeps lines with different
  option values apart, so two designs of the same product stay two lines. The value is signed when
  the design's owner adds it, so a value typed into oscar's own product form is refused.
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

import uuid

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


def design_value(image) -> str:
    """The option value naming one variation of a design, signed."""
    return signing.Signer(salt=_SIGNER_SALT).sign(f"{image.request_id}:{image.index}")


def design_from_value(value):
    """The variation (``GenerationImage``) a signed option value names, or None."""
    try:
        generation_id, index = signing.Signer(salt=_SIGNER_SALT).unsign(str(value)).split(":")
        generation_id, index = uuid.UUID(generation_id), int(index)
    except (signing.BadSignature, ValueError):
        return None
    return (
        interface.GenerationImage.objects.select_related("request")
        .filter(request_id=generation_id, index=index)
        .first()
    )


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


def basket_add_design(*, basket, image, quantity: int = 1):
    """Put one variation of a design into an oscar basket as a line of its product with the design
    option. Returns the basket line. Raises ValidationError ("design") when it may not be ordered.
    The basket needs its pricing strategy (``request.basket`` has it)."""
    product = image.request.product
    if refusal := design_refusal(image, product=product):
        raise ValidationError({"design": refusal})
    if not isinstance(quantity, int) or not 1 <= quantity <= 99:
        raise ValidationError({"quantity": "Quantity must be between 1 and 99."})
    line, _ = basket.add_product(
        product, quantity=quantity, options=[{"option": design_option(), "value": design_value(image)}]
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
            image = design_from_value(attribute.value)
            refusal = NOT_A_DESIGN if image is None else design_refusal(image, product=line.product)
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
    image = design_from_value(instance.value)
    if image is None:
        raise UnableToPlaceOrder(f"{order_line.title}: {NOT_A_DESIGN}")
    if refusal := design_refusal(image, product=order_line.product):
        raise UnableToPlaceOrder(f"{order_line.title}: {refusal}")
    try:
        with transaction.atomic():
            interface.freeze_design(order_line=order_line, image=image)
    except ValidationError as exc:
        messages = " ".join(exc.messages)
        raise UnableToPlaceOrder(f"{order_line.title}: {messages}") from exc
