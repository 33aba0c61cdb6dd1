"""What the plugin needs to know about the host shop, and the one place it asks.

The plugin never reads a field of the host's models by name. It asks the host adapter, a class
named in ``settings.PERSONALIZATION["HOST_ADAPTER"]`` (a dotted path, like AUTH_USER_MODEL names a
model), for a plain, frozen :class:`ProductInfo`. The bundled shop's adapter is
``shop.personalization_host.ShopHost``; the django-oscar test host's is
``tests.hosts.oscar.host.OscarHost``. docs/PLUGIN.md describes what a host provides.

    from personalization.hosts import host
    info = host().product_info(product)
    info.print_area.width_mm, info.base_color("Navy"), info.brand_id, info.model_preset

The adapter is built once per process (``host()`` is cached; tests that swap settings call
``host.cache_clear()``, which the ``setting_changed`` signal does for them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .conf import conf


@dataclass(frozen=True, slots=True)
class BaseColor:
    """A colour the product is made in: the name the customer picks and its sRGB hex (#rrggbb)."""

    name: str
    hex: str


@dataclass(frozen=True, slots=True)
class PrintArea:
    """The printable area of the product, in physical units."""

    width_mm: float
    height_mm: float
    dpi: int = 300
    min_dpi: int = 150
    safe_margin_mm: float = 3.0

    def as_dict(self) -> dict:
        return {
            "width_mm": self.width_mm,
            "height_mm": self.height_mm,
            "dpi": self.dpi,
            "min_dpi": self.min_dpi,
            "safe_margin_mm": self.safe_margin_mm,
        }


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """Everything the plugin reads about one product of the host's catalogue.

    ``pk`` is the primary key of the host's product (the row that ``PRODUCT_MODEL`` names).
    ``brand_id`` is the ``brand_guides.Brand`` whose guide styles it (None: not personalizable).
    ``material_ids`` / ``style_ids``: the material and style presets offered for it (empty: all that
    the brand may use). ``mockup_template``: an open-able stored file (a ``FieldFile``) of a neutral
    product picture, or None to draw one from ``product_type``; ``mockup_box``: where the print
    area sits on that picture as fractions (left, top, width, height). ``model_preset``: the
    ``personalization.presets`` name for this product ("": the brand's choice).
    ``text_max_length``: the most characters of a customer's text layer on it (None: the product
    type's default, ``product_types.text_max_length``).
    """

    pk: Any
    slug: str
    name: str
    category_slug: str
    category_name: str
    product_type: str
    brand_id: int | None
    base_colors: tuple[BaseColor, ...]
    print_area: PrintArea
    price: Decimal | None = None
    currency: str = ""
    is_published: bool = True
    material_ids: tuple[int, ...] = ()
    style_ids: tuple[int, ...] = ()
    mockup_template: Any = None
    mockup_box: tuple[float, float, float, float] = (0.3, 0.3, 0.4, 0.4)
    model_preset: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)
    text_max_length: int | None = None

    def base_color(self, name: str) -> BaseColor | None:
        """The colour called ``name`` (case-insensitive, surrounding spaces ignored), or None."""
        wanted = (name or "").strip().casefold()
        return next((c for c in self.base_colors if c.name.casefold() == wanted), None)


@dataclass(frozen=True)
class OrderLineContact:
    """What the plugin may know of a placed order line's order (``HostAdapter.order_line_contact``)."""

    email: str = ""
    order_number: str = ""
    order_url: str = ""
    product_name: str = ""


class HostAdapter(ABC):
    """The interface a host implements. Subclass it and name the subclass in
    ``PERSONALIZATION["HOST_ADAPTER"]``. Every method is called with the host's own objects;
    ``products`` and ``product_info`` are required (``manage.py check`` names a missing one)."""

    @abstractmethod
    def products(self):
        """A queryset of the host's products that can be personalized (published ones), for the
        studio's product picker and the API's product lookup."""

    @abstractmethod
    def product_info(self, product) -> ProductInfo:
        """The plain description of one of the host's products."""

    def get_product(self, *, slug: str | None = None, pk=None):
        """One personalizable product (of ``products()``) by slug or primary key, or None.

        The slug is the one ``product_info`` gives (``ProductInfo.slug``): the studio's product
        picker and the API's ``product`` field name products by it. This default looks it up in a
        ``slug`` field of the ``products()`` model; a host whose product model has no ``slug`` field
        (or names products by something else) overrides this method, or the default raises
        ImproperlyConfigured."""
        products = self.products()
        if slug is not None:
            model = products.model
            if not any(f.name == "slug" and f.concrete for f in model._meta.get_fields()):
                raise ImproperlyConfigured(
                    f"{type(self).__qualname__}.get_product(slug=...): {model._meta.label} has no "
                    "`slug` field; override get_product(slug=..., pk=...) in the host adapter to find "
                    "a product by the slug its product_info gives (docs/PLUGIN.md)."
                )
            return products.filter(slug=slug).first()
        if pk is not None:
            return products.filter(pk=pk).first()
        return None

    def product_infos(self, products) -> list[ProductInfo]:
        """``product_info`` of many products (override to prefetch)."""
        return [self.product_info(p) for p in products]

    def order_line_owner(self, order_line) -> dict:
        """``{"customer": user or None, "session_key": str}`` of a placed order line (used when no
        generation is at hand). The default reads nothing and returns no owner."""
        return {"customer": None, "session_key": ""}

    def order_line_contact(self, order_line) -> OrderLineContact:
        """Whom to tell about a placed order line's design (the review outcome email) and where its
        order is: the order's email address, number, URL (a path or absolute) and the product's
        name. The default: the email of ``order_line_owner``'s customer, nothing else."""
        customer = self.order_line_owner(order_line).get("customer")
        return OrderLineContact(email=(getattr(customer, "email", "") or "").strip())


@lru_cache(maxsize=1)
def host() -> HostAdapter:
    """The configured host adapter (one instance per process)."""
    path = conf.HOST_ADAPTER
    if not path:
        raise ImproperlyConfigured(
            "PERSONALIZATION['HOST_ADAPTER'] is not set: name your shop's adapter class, "
            "e.g. 'shop.personalization_host.ShopHost' (see docs/PLUGIN.md)."
        )
    try:
        adapter = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"PERSONALIZATION['HOST_ADAPTER'] = {path!r} cannot be imported: {exc}"
        ) from exc
    if not (isinstance(adapter, type) and issubclass(adapter, HostAdapter)):
        raise ImproperlyConfigured(
            f"PERSONALIZATION['HOST_ADAPTER'] = {path!r} is not a subclass of "
            "personalization.hosts.HostAdapter."
        )
    if missing := sorted(getattr(adapter, "__abstractmethods__", ())):
        raise ImproperlyConfigured(
            f"PERSONALIZATION['HOST_ADAPTER'] = {path!r} does not implement {', '.join(missing)}."
        )
    return adapter()


def product_info(product) -> ProductInfo:
    """Shortcut: ``host().product_info(product)``."""
    return host().product_info(product)


@receiver(setting_changed)
def _forget_host(*, setting, **kwargs) -> None:
    if setting == "PERSONALIZATION":
        host.cache_clear()
