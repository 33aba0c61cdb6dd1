"""What the plugin needs to know about an oscar product, read from oscar's own catalogue.

A personalizable product is a public product of the oscar product class ``personalizable``; the
plugin's data are that class's product attributes (staff fill them in oscar's dashboard like any
other attribute):

==========================  ========  ===============================================================
code                        type      meaning
==========================  ========  ===============================================================
``personalization_brand``   integer   id of the brand guide (``brand_guides.Brand``) that styles it
``product_type``            text      "t-shirt", "mug", "cap", ... (prompting, drawn mockups)
``print_width_mm``          float     print area width in mm
``print_height_mm``         float     print area height in mm
``print_dpi``               integer   print resolution (default 300)
``base_colors``             text      the colours it is made in: ``White=#ffffff, Navy=#1f2a44``
``model_preset``            text      a ``personalization.presets`` name; empty: the brand's choice
==========================  ========  ===============================================================

The product's first category gives the category slug and name; its first stock record the price.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from oscar.core.loading import get_class, get_model

from personalization.interface import BaseColor, HostAdapter, OrderLineContact, PrintArea, ProductInfo

PRODUCT_CLASS_SLUG = "personalizable"
BRAND = "personalization_brand"
PRODUCT_TYPE = "product_type"
PRINT_WIDTH_MM = "print_width_mm"
PRINT_HEIGHT_MM = "print_height_mm"
PRINT_DPI = "print_dpi"
BASE_COLORS = "base_colors"
MODEL_PRESET = "model_preset"

_COLOR = re.compile(r"^\s*(?P<name>[^=\s][^=]*?)\s*=\s*(?P<hex>#[0-9a-fA-F]{6})\s*$")


def parse_base_colors(text: str) -> tuple[BaseColor, ...]:
    """``"White=#ffffff, Navy=#1f2a44"`` (commas or new lines) -> BaseColor tuples; a malformed
    entry is skipped (the product then simply does not offer it)."""
    colors = []
    for part in re.split(r"[,\n]", text or ""):
        match = _COLOR.match(part)
        if match:
            colors.append(BaseColor(name=match["name"], hex=match["hex"].lower()))
    return tuple(colors)


def _attr(product, code: str, default=None):
    value = getattr(product.attr, code, None)
    return default if value in (None, "") else value


class OscarHost(HostAdapter):
    """The host adapter of the django-oscar test host (``PERSONALIZATION["HOST_ADAPTER"]``)."""

    def products(self):
        Product = get_model("catalogue", "Product")
        return (
            Product.objects.filter(product_class__slug=PRODUCT_CLASS_SLUG, is_public=True)
            .select_related("product_class")
            .prefetch_related("categories", "stockrecords")
            .order_by("title", "pk")
        )

    def product_info(self, product) -> ProductInfo:
        category = product.categories.order_by("pk").first()
        price, currency = self._price(product)
        brand_id = _attr(product, BRAND)
        return ProductInfo(
            pk=product.pk,
            slug=product.slug,
            name=product.get_title(),
            category_slug=category.slug if category else "",
            category_name=category.name if category else "",
            product_type=_attr(product, PRODUCT_TYPE, "t-shirt"),
            brand_id=int(brand_id) if brand_id is not None else None,
            base_colors=parse_base_colors(_attr(product, BASE_COLORS, "")),
            print_area=PrintArea(
                width_mm=float(_attr(product, PRINT_WIDTH_MM, 0)),
                height_mm=float(_attr(product, PRINT_HEIGHT_MM, 0)),
                dpi=int(_attr(product, PRINT_DPI, 300)),
            ),
            price=price,
            currency=currency,
            is_published=bool(product.is_public) and product.get_product_class().slug == PRODUCT_CLASS_SLUG,
            model_preset=_attr(product, MODEL_PRESET, ""),
            url=product.get_absolute_url(),
        )

    def order_line_owner(self, order_line) -> dict:
        return {"customer": order_line.order.user, "session_key": ""}

    def order_line_contact(self, order_line) -> OrderLineContact:
        order = order_line.order
        return OrderLineContact(
            email=order.email or "",
            order_number=order.number,
            order_url="",
            product_name=order_line.title,
        )

    @staticmethod
    def _price(product) -> tuple[Decimal | None, str]:
        Selector = get_class("partner.strategy", "Selector")
        info = Selector().strategy().fetch_for_product(product)
        if not info.price.exists:
            return None, settings.OSCAR_DEFAULT_CURRENCY
        return info.price.excl_tax, info.price.currency


class OriginalImageThumbnailer:
    """``OSCAR_THUMBNAILER`` for this host: the original picture (no thumbnail library needed)."""

    def generate_thumbnail(self, source, **opts):
        return source

    def delete_thumbnails(self, source):
        return None
