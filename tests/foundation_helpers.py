"""Builders for the foundation tests: generation rows, orders with frozen designs, small PNGs.

Rows are written with the ORM (not the services) so that these tests exercise models, admin and
constraints without depending on prompt building or the queue."""

import io
import itertools
from decimal import Decimal

from django.core.files.base import ContentFile
from PIL import Image

from apikit.models import IdempotencyKey
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.services import line_design_create
from shop.models import Cart, CartLine, Order, OrderLine

_seq = itertools.count(1)


def png_bytes(color: str = "#336699", size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_generation(product, **fields) -> GenerationRequest:
    color = product.base_colors.first()
    defaults = {
        "product": product,
        "brand": product.brand,
        "base_color_name": color.name if color else "White",
        "base_color_hex": color.hex if color else "#FFFFFF",
        "description": "A majestic lion on a mountain",
        "seed": 1234,
        "steps": 25,
        "progress_total": 25,
        "optimized_prompt": "a majestic lion on a mountain, t-shirt print",
        "negative_prompt": "blurry",
        "model_name": "tiny-sd21",
        "scheduler_name": "DPMSolverMultistepScheduler",
        "session_key": f"session-{next(_seq)}",
    }
    defaults.update(fields)
    return GenerationRequest.objects.create(**defaults)


def make_generation_image(generation: GenerationRequest, *, index: int = 0, **fields) -> GenerationImage:
    image = GenerationImage(
        request=generation, index=index, seed=generation.seed + index, width=64, height=64, **fields
    )
    image.image.save("design.png", ContentFile(png_bytes("#AA3355")), save=False)
    image.mockup.save("mockup.png", ContentFile(png_bytes("#DDDDDD")), save=False)
    image.save()
    return image


def make_succeeded_generation(product, **fields) -> GenerationRequest:
    generation = make_generation(
        product, status=GenerationRequest.Status.SUCCEEDED, progress_step=25, **fields
    )
    make_generation_image(generation, brand_consistency=72.5, quality_flags=["low_contrast"], flagged=True)
    return generation


def make_cart(product, *, user=None, design: GenerationImage | None = None) -> Cart:
    cart = Cart.objects.create(user=user, session_key="" if user else f"cart-{next(_seq)}")
    CartLine.objects.create(cart=cart, product=product, base_color=product.base_colors.first(), quantity=2)
    if design is not None:
        CartLine.objects.create(
            cart=cart, product=product, base_color=product.base_colors.first(), design=design
        )
    return cart


def make_order(product, *, design: GenerationImage | None = None) -> Order:
    """An order with a plain line and, when ``design`` is given, a personalized line with its frozen copy."""
    order = Order.objects.create(
        number=f"PZTEST{next(_seq):04d}",
        full_name="Ada Lovelace",
        email="ada@example.com",
        address_line1="1 Analytical Way",
        city="London",
        postcode="N1 1AA",
        country="GB",
        total=Decimal("48.00"),
    )
    color = product.base_colors.first()
    common = {
        "order": order,
        "product": product,
        "product_name": product.name,
        "product_slug": product.slug,
        "product_type": product.product_type,
        "base_color_name": color.name,
        "base_color_hex": color.hex,
        "unit_price": product.price,
    }
    OrderLine.objects.create(quantity=1, **common)
    if design is not None:
        line = OrderLine.objects.create(quantity=1, **common)
        make_line_design(line, design)
    return order


def make_line_design(order_line: OrderLine, image: GenerationImage) -> LineDesign:
    """The frozen design, made by the service the checkout uses."""
    return line_design_create(order_line=order_line, image=image)


def make_idempotency_key(user) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        user=user,
        key=f"key-{next(_seq)}",
        scope="generation_create",
        request_hash="0" * 64,
        response_status=201,
        response_body={"id": "x"},
    )
