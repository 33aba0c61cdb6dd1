"""The bundled shop as a host of the personalization plugin: what the plugin may know of a Product.

Named in ``settings.PERSONALIZATION["HOST_ADAPTER"]``. The plugin never reads a field of
``shop.Product`` by name; it asks this adapter for a plain ``ProductInfo`` (docs/PLUGIN.md).
"""

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models import prefetch_related_objects

from apikit.throttling import CACHE_ERRORS
from personalization.interface import BaseColor, HostAdapter, OrderLineContact, PrintArea, ProductInfo

from .models import Product

# What product_info reads beyond the row itself (one query each for a whole list of products).
RELATED = ("category", "base_colors", "allowed_materials")

# A polled job card or API detail describes its product on every poll: what product_info reads
# beyond the row (its category; its base colours and materials) is kept in the shared cache,
# dropped when any of them is saved or deleted (shop.signals; again once the transaction commits),
# and at the latest after this long.
RELATED_CACHE_SECONDS = 60

logger = logging.getLogger(__name__)


def category_cache_key(category_id) -> str:
    return f"shop:product-info:category:{category_id}"


def product_cache_key(product_id) -> str:
    return f"shop:product-info:product:{product_id}"


def forget_product_infos(*, product_ids=(), category_ids=()) -> None:
    """Drop the cached parts of these products' and categories' ProductInfo now and once the
    transaction commits (a poll between the two may have kept what it read before the commit)."""
    keys = [product_cache_key(pk) for pk in product_ids] + [category_cache_key(pk) for pk in category_ids]
    if keys:
        _delete(keys)
        transaction.on_commit(lambda: _delete(keys))


def _delete(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except CACHE_ERRORS as exc:  # unreachable: the keys expire on their own
        logger.warning("cache unreachable (%s): product infos not dropped", type(exc).__name__)


def _category(product: Product) -> tuple[str, str]:
    return product.category.slug, product.category.name


def _colors_and_materials(product: Product) -> tuple[tuple, tuple]:
    return (
        tuple(BaseColor(name=c.name, hex=c.hex) for c in product.base_colors.all()),
        tuple(m.pk for m in product.allowed_materials.all()),
    )


def _related(product: Product) -> tuple:
    """(category slug, category name, base colours, material ids) of a saved product: from what
    the instance has loaded, else the shared cache, else the database (then kept)."""
    prefetched = getattr(product, "_prefetched_objects_cache", {})
    readers = {}
    if not Product.category.is_cached(product):
        readers[category_cache_key(product.category_id)] = _category
    if not ("base_colors" in prefetched and "allowed_materials" in prefetched):
        readers[product_cache_key(product.pk)] = _colors_and_materials
    found = {}
    if readers:
        try:
            found = cache.get_many(list(readers))
        except CACHE_ERRORS as exc:  # unreachable: read from the database
            logger.warning("cache unreachable (%s): product info read afresh", type(exc).__name__)
    missed = {key: read(product) for key, read in readers.items() if key not in found}
    if missed:
        try:
            cache.set_many(missed, RELATED_CACHE_SECONDS)
        except CACHE_ERRORS as exc:
            logger.warning("cache unreachable (%s): product info not kept", type(exc).__name__)
    values = found | missed
    category = values.get(category_cache_key(product.category_id)) or _category(product)
    parts = values.get(product_cache_key(product.pk)) or _colors_and_materials(product)
    return (*category, *parts)


class ShopHost(HostAdapter):
    def products(self):
        """Published products, with everything product_info reads."""
        return (
            Product.objects.published()
            .select_related("category")
            .prefetch_related("base_colors", "allowed_materials")
        )

    def product_info(self, product: Product) -> ProductInfo:
        if product.pk is None:  # unsaved (its related rows cannot be read: Django says why)
            category_slug, category_name = _category(product)
            base_colors, material_ids = _colors_and_materials(product)
        else:
            category_slug, category_name, base_colors, material_ids = _related(product)
        return ProductInfo(
            pk=product.pk,
            slug=product.slug,
            name=product.name,
            category_slug=category_slug,
            category_name=category_name,
            product_type=product.product_type,
            brand_id=product.brand_id,
            base_colors=base_colors,
            print_area=PrintArea(
                width_mm=product.print_width_mm,
                height_mm=product.print_height_mm,
                dpi=product.print_dpi,
                min_dpi=product.min_dpi,
                safe_margin_mm=product.safe_margin_mm,
            ),
            price=product.price,
            currency="",  # the bundled shop has one, unnamed currency
            is_published=product.is_published,
            material_ids=material_ids,
            style_ids=(),  # the shop has no per-product styles: all that the brand may use
            mockup_template=product.mockup_template or None,
            mockup_box=product.mockup_box,
            model_preset=product.model_preset,
            url=product.get_absolute_url(),
        )

    def product_infos(self, products) -> list[ProductInfo]:
        products = list(products)
        prefetch_related_objects(products, *RELATED)
        return [self.product_info(p) for p in products]

    def order_line_owner(self, order_line) -> dict:
        return {"customer": order_line.order.user, "session_key": order_line.order.session_key}

    def order_line_contact(self, order_line) -> OrderLineContact:
        order = order_line.order
        return OrderLineContact(
            email=order.email,
            order_number=order.number,
            order_url=order.get_absolute_url(),
            product_name=order_line.product_name,
        )
