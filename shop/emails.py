"""The shop's customer emails, made when the email task runs (personalization.interface.queue_email)."""

from django.db.models import Prefetch

from personalization.interface import Email, InlineImage, absolute_url, email_thumbnail, line_review

from .models import Order, OrderLine

ORDER_CONFIRMATION = "order_confirmation"


def order_confirmation(number: str) -> Email | None:
    """The order confirmation: number, lines (each personalized line with its frozen design's mockup
    as an inline image, and a note on those the shop checks before printing), total, shipping
    address and a link to the order."""
    order = (
        Order.objects.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("design")))
        .filter(number=number)
        .first()
    )
    if order is None or not order.email:
        return None
    lines, images = [], []
    for line in order.lines.all():
        design = getattr(line, "design", None)
        image = None
        if design is not None:
            data = email_thumbnail(design.mockup) or email_thumbnail(design.image)
            if data:
                image = InlineImage(
                    cid=f"line-{line.pk}@{order.number}", data=data, filename=f"line-{line.pk}.png"
                )
                images.append(image)
        waiting = design is not None and line_review(design)["state"] == "pending_review"
        lines.append({"line": line, "design": design, "image": image, "pending_review": waiting})
    return Email(
        to=order.email,
        subject=f"Your order {order.number}",
        template="shop/email/order_confirmation",
        context={
            "order": order,
            "lines": lines,
            "pending_review": any(item["pending_review"] for item in lines),
            "order_url": absolute_url(order.get_absolute_url()),
        },
        images=images,
    )
