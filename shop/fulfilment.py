"""Print-on-demand export of an order: one JSON document (docs/FULFILMENT.md) and a ZIP with it
and the print files, for the admin action and the staff API (``GET /api/v1/orders/<id>/fulfilment/``).

The document has no timestamp: exporting the same order twice gives the same document, and the
same external ids, so a partner that deduplicates on them never prints an order twice.
"""

import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet
from django.utils.text import slugify

from personalization.interface import can_manage_brand, fulfilment_files, fulfilment_line

from .models import Order, OrderLine

logger = logging.getLogger(__name__)

ORDER_JSON = "order.json"


def orders_for_fulfilment(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """``queryset`` with what ``order_fulfilment`` reads, in a fixed number of queries."""
    lines = OrderLine.objects.select_related("design", "product__category").order_by("pk")
    return queryset.prefetch_related(Prefetch("lines", queryset=lines))


def _design(line: OrderLine):
    try:
        return line.design
    except ObjectDoesNotExist:
        return None


def _variant(line: OrderLine) -> dict:
    return {
        "sku": f"{line.product_slug}-{slugify(line.base_color_name)}",
        "product": line.product_slug,
        "product_name": line.product_name,
        "product_type": line.product_type,
        "color": line.base_color_name,
        "color_hex": line.base_color_hex,
    }


def line_brand_id(line: OrderLine) -> int | None:
    """The brand a line belongs to: its frozen design's, else its product's (None: neither left)."""
    design = _design(line)
    if design is not None and design.brand_id is not None:
        return design.brand_id
    return line.product.brand_id if line.product_id else None


def may_export(user, order: Order) -> bool:
    """Staff who manage the brand of every line of the order (superusers: any order); never a
    customer, not even the order's own."""
    brands = {line_brand_id(line) for line in order.lines.all()}
    return all(can_manage_brand(user, brand_id) for brand_id in brands)


def order_fulfilment(order: Order, *, url_for: Callable) -> dict:
    """The order as a print-on-demand document: shipping, personalized ``items`` (one
    ``fulfilment_line`` each) and ``plain_items``; ``status`` "ready" once every print file is."""
    items, plain = [], []
    for line in order.lines.all():
        design = _design(line)
        if design is None:
            plain.append({**_variant(line), "quantity": line.quantity})
            continue
        category = line.product.category.slug if line.product_id else ""
        item = fulfilment_line(
            design, quantity=line.quantity, variant=_variant(line), url_for=url_for, category_slug=category
        )
        items.append(item)
    return {
        "external_id": f"pz-order-{order.number}",
        "order_number": order.number,
        "status": _order_status(items),
        "shipping": {
            "name": order.full_name,
            "email": order.email,
            "address1": order.address_line1,
            "address2": order.address_line2,
            "city": order.city,
            "zip": order.postcode,
            "country_code": order.country.upper(),
        },
        "items": items,
        "plain_items": plain,
    }


def _order_status(items: list[dict]) -> str:
    """``ready`` when every personalized line is; else the first that holds it back, in this order:
    ``rejected`` (a line the shop rejected in review), ``print_file_failed`` (a print job given up:
    the shop retries it in the admin), ``pending_review`` (waiting for approval),
    ``print_file_pending`` (the print job has not finished)."""
    statuses = {item["status"] for item in items}
    for status in ("rejected", "print_file_failed", "pending_review", "print_file_pending"):
        if status in statuses:
            return status
    return "ready"


def _line_folder(line: OrderLine) -> str:
    return f"line-{line.pk}"


def _copy_into(archive: zipfile.ZipFile, arcname: str, field) -> bool:
    try:
        source = field.open("rb")
    except OSError:
        logger.warning("%s is missing from the storage: left out of the export", field.name)
        return False
    with source, archive.open(arcname, "w") as target:
        shutil.copyfileobj(source, target)
    return True


def orders_zip(orders: Iterable[Order], fileobj: BinaryIO) -> None:
    """Write a ZIP into ``fileobj`` with a folder per order: ``<number>/order.json`` (the document,
    its file URLs replaced by paths relative to it) and ``<number>/line-<id>/print.png``,
    ``print.pdf``, ``mockup.png``. A file missing from the storage is left out (its path: null)."""
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for order in orders:
            paths: dict[str, str] = {}
            for line in order.lines.all():
                design = _design(line)
                if design is None:
                    continue
                for name, field in fulfilment_files(design):
                    relative = f"{_line_folder(line)}/{name}"
                    if _copy_into(archive, f"{order.number}/{relative}", field):
                        paths[field.name] = relative
            document = order_fulfilment(order, url_for=lambda field, paths=paths: paths.get(field.name))
            archive.writestr(
                f"{order.number}/{ORDER_JSON}", json.dumps(document, indent=2, sort_keys=True) + "\n"
            )
