"""The plugin's public face: the only module a host shop imports (``lint-imports`` enforces it).

What a host does with the plugin, in one place:

- describe its products to the plugin: subclass ``HostAdapter`` (returning ``ProductInfo``) and name
  it in ``PERSONALIZATION["HOST_ADAPTER"]``;
- include the URLs: ``path("", include(STUDIO_URLS))``, ``path("api/", include(API_URLS))``, and
  the health endpoints at the root, ``path("", include(HEALTH_URLS))`` (``/healthz``, ``/readyz``);
- let customers submit, cancel and list designs (the studio does it for them; hosts rarely need to);
- freeze a chosen design onto a placed order line (``freeze_design``), refusing designs that may
  not be ordered (``order_refusal``);
- render the studio inside its own pages by overriding ``personalization/base.html``;
- email its customers once, after the commit, from a worker (``queue_email`` with a builder that
  returns an ``Email``; design thumbnails as ``InlineImage`` from ``email_thumbnail``).

Names that are classes or models are loaded on first use (PEP 562), so importing this module from a
host's ``models.py`` loads nothing else. docs/PLUGIN.md has a complete minimal host.

The brand guides app (``brand_guides``) is part of the plugin: the names a host needs from it (its
models, the admin scoping mixins, the image upload field, the colour validator) are here too. The
project's API toolkit (error bodies, idempotency, parsers, the token view) is ``apikit``, a shared
app that is not part of the plugin: a host imports it directly.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .engine.demo import MODEL_DIR as _DEMO_MODEL_DIR
from .hosts import BaseColor, HostAdapter, OrderLineContact, PrintArea, ProductInfo
from .presets import CHOICES as PRESET_CHOICES

if TYPE_CHECKING:
    from .models import GenerationImage, GenerationRequest, LineDesign

STUDIO_URLS = "personalization.urls"
API_URLS = "personalization.api.urls"
BRAND_API_URLS = "brand_guides.api.urls"  # brands, materials, styles (read-only)
HEALTH_URLS = "personalization.health_urls"  # GET /healthz and /readyz (personalization.health)
BASE_TEMPLATE = "personalization/base.html"
# The small model trained on pattern designs that ships with the plugin (docs/DEMO_MODEL.md): a host
# may point its "sd21" preset here (MODELS) when it has no real weights, and name the preset in
# TRAINED_DEMO_PRESETS. Its model_index.json is missing when the model has not been trained.
DEMO_MODEL_DIR = _DEMO_MODEL_DIR


# --- designs --------------------------------------------------------------------------------------


def submit_design(**fields) -> GenerationRequest:
    """Validate and queue a design request (the studio and the API call the same service).
    Raises django ValidationError (field -> message) or ``QuotaExceeded``."""
    from .services import generation_request_create

    return generation_request_create(**fields)


def cancel_design(*, generation: GenerationRequest) -> GenerationRequest:
    """Cancel a design request: a queued one at once, a running one within one denoising step.
    Raises ``InvalidTransition`` for a request that is already finished."""
    from .services import generation_request_cancel

    return generation_request_cancel(generation=generation)


def designs_for(*, user=None, session_key: str | None = None):
    """The design requests a customer (account and/or anonymous visitor) owns, newest first."""
    from .selectors import generations_for

    return generations_for(user=user, session_key=session_key)


def order_refusal(generation: GenerationRequest) -> str:
    """Why this design may not be ordered now ("" when it may): held for review, rejected, ..."""
    from .review import order_refusal as refusal

    return refusal(generation)


def preflight_refusal_for(image: GenerationImage, text=None) -> str:
    """Why this variation may not be ordered for its resolution ("" when it may): the brand blocks
    designs below the product's minimum DPI. ``text`` is the customer's text layer (a ``TextLayer``,
    the dict ``validate_text_layer`` returned, or None). Free unless the brand blocks: cart add and
    checkout call it next to ``order_refusal``."""
    from .preflight import as_text_layer
    from .preflight import preflight_refusal_for as refusal

    return refusal(image, as_text_layer(text))


def image_preflight(image: GenerationImage, *, text=None) -> dict:
    """The preflight the customer sees for a variation (a JSON-ready dict: effective DPI against the
    product's minimum, what happens below it, safe area, crop, messages), with an optional text
    layer (a ``TextLayer`` or the dict ``validate_text_layer`` returned)."""
    from .preflight import as_text_layer
    from .preflight import image_preflight as preflight

    return preflight(image, text=as_text_layer(text))


def freeze_design(*, order_line, image: GenerationImage, text_layer: dict | None = None) -> LineDesign:
    """Attach a copy of a chosen variation (files, prompts, seed, recipe, model) to a placed order
    line, and queue its print file. ``text_layer`` is what ``validate_text_layer`` returned when the
    line went into the cart: it is checked again against the brand as it is now, then frozen with the
    composition, logo, font, preflight and a mockup showing it. Raises ValidationError when the
    design may not be ordered ({"design": ...}) or the text no longer passes ({"text": ...}, ...)."""
    from .services import line_design_create

    return line_design_create(order_line=order_line, image=image, text_layer=text_layer)


def text_form_values(data) -> dict:
    """The text-layer values of a posted form that included ``personalization/_text_fields.html``
    (names ``text``, ``text_kind``, ``text_font``, ...) under the keys ``validate_text_layer`` takes."""
    from .services import text_form_values as values

    return values(data)


def validate_text_layer(image: GenerationImage, values) -> dict:
    """The customer's text or monogram for a chosen variation, validated against its brand and
    product: a dict to keep on the cart line and pass to ``freeze_design`` ({} for no text).
    ``values`` has the keys text, kind, font, color, size, position, curve (all optional).
    Raises ValidationError({key: [message]}) under those keys."""
    from .services import design_text_layer

    layer = design_text_layer(image=image, values=values)
    return {} if layer is None else layer.as_dict()


def describe_text_layer(text_layer: dict | None, *, brand=None, palette=None) -> str:
    """A short line for a cart or an order: 'Monogram “ABC” in Fredoka One, Navy' ("" for none).
    The font's family comes from ``brand``'s typography, the colour's name from ``palette`` (a
    frozen ``LineDesign.brand_palette``) or ``brand``'s palette."""
    from .services import text_layer_summary

    return text_layer_summary(text_layer, brand=brand, palette=palette)


def line_text_layer(design: LineDesign) -> dict | None:
    """The text layer frozen on an order line's design (``TextLayer.as_dict()``), None for none."""
    return (design.composition or {}).get("text") or None


def preset_choices() -> list[tuple[str, str]]:
    """The model presets as (name, label) choices. Pass the function itself as a host field's
    ``choices`` (``choices=preset_choices``): Django calls it when it needs the list, so migrations
    name the function instead of copying the list, and a new preset needs no host migration."""
    from . import presets

    return list(presets.CHOICES)


def preset_for_product(product) -> str:
    """The name of the model preset a product's designs are made with: the product's own choice
    (``ProductInfo.model_preset``), else its brand's, else ``DEFAULT_PRESET``."""
    from .selectors import preset_for_product as preset_for

    return preset_for(product).name


# --- the shop's approval before printing -------------------------------------------------------


def line_review(design: LineDesign) -> dict:
    """A placed design's approval as its customer sees it: ``state`` (``pending_review``,
    ``approved``, ``rejected``), ``label``, ``message``, ``reason`` (when rejected), ``reviewed_at``."""
    from .approval import line_review as review

    return review(design)


def fulfilment_refusal(design: LineDesign) -> str:
    """Why a placed design may not be sent to fulfilment yet ("" when it is approved): a host's export
    skips or refuses such lines."""
    from .approval import fulfilment_refusal as refusal

    return refusal(design)


# --- print-on-demand fulfilment -----------------------------------------------------------------


def fulfilment_line(
    design: LineDesign, *, quantity: int, variant: dict, url_for, category_slug: str = ""
) -> dict:
    """One personalized order line as a print-on-demand item (external id, variant, quantity,
    placements with file and text layers in inches, files, recipe, preflight, status); see
    docs/FULFILMENT.md. ``url_for(field_file) -> str`` says how the host serves a stored file."""
    from .fulfilment import line_fulfilment

    return line_fulfilment(
        design, quantity=quantity, variant=variant, url_for=url_for, category_slug=category_slug
    )


def fulfilment_files(design: LineDesign) -> list:
    """The line's files for a printer as (file name, stored file): print.png, print.pdf, mockup.png
    (those that exist)."""
    from .fulfilment import fulfilment_files as files

    return files(design)


# --- customer emails ------------------------------------------------------------------------------


def queue_email(*, kind: str, key, builder: str) -> bool:
    """Send a customer email once, after the caller's transaction commits, from the worker of the
    default django-q2 cluster (never inside the request). ``(kind, key)`` identifies it (a second call
    does nothing; a rollback drops it); ``builder`` is the dotted path of ``builder(key: str) -> Email |
    None`` that makes it when the task runs (None: nothing to send). A failed send is retried; a queue
    that cannot be reached is logged, never raised. Returns whether it was recorded now."""
    from .emails import email_queue

    return email_queue(kind=kind, key=key, builder=builder)


def email_thumbnail(file_field, *, size: int | None = None) -> bytes | None:
    """Small PNG bytes of a stored picture (e.g. ``LineDesign.mockup``, a private file) to put inside
    an email as an ``InlineImage``: no private URL leaves the shop. None when there is no picture."""
    from .emails import thumbnail_png

    return thumbnail_png(file_field, size=size)


def absolute_url(path: str) -> str:
    """``path`` on the shop's public address (``PERSONALIZATION["SITE_URL"]``), for links in emails;
    "" when it is not set."""
    from .emails import absolute_url as url

    return url(path)


# --- visitors ---------------------------------------------------------------------------------


def visitor_session_key(request) -> str:
    """The anonymous visitor's key in this session ("" when it has none yet)."""
    from .visitors import SESSION_KEY

    return request.session.get(SESSION_KEY, "")


def visitor_key(request) -> str:
    """The anonymous visitor's key, created on first use."""
    from .visitors import visitor_key as key

    return key(request)


# --- products: print areas and mockups ------------------------------------------------------------


def print_area_spec(area):
    """The print area of a ``PrintArea`` (or of a ``ProductInfo``) as the print and mockup code take
    it: ``.pixel_size()`` is the print file's size. Raises ValueError for an area that cannot be
    printed (no size, no room inside the margins)."""
    from .conditioning import print_area_spec as spec

    return spec(area)


def draw_template(
    product_type: str, category_slug: str, size: tuple[int, int] = (800, 800), *, mark_print_area: bool = True
):
    """A neutral product template picture (RGBA) for a product type and category, and its print box
    ``(left, top, width, height)`` as fractions: what a host without product photos uses as a mockup
    template. ``mark_print_area`` outlines the box with the dashed guide that compositing removes."""
    from .mockups import draw_template as draw

    return draw(product_type, category_slug, size, mark_print_area=mark_print_area)


# --- brands and the brand-scoped admin (brand_guides) --------------------------------------------


def sees_all_brands(user) -> bool:
    """Whether this user works on every brand (a superuser); everyone else is scoped to the brands
    they manage."""
    from brand_guides.access import sees_all_brands as sees_all

    return sees_all(user)


def scope_q(user, brand_path):
    """A ``Q`` of the rows reachable from any of ``brand_path`` (a lookup path, or several, to a
    brand) whose brand this user manages; for a host admin's ``get_queryset``."""
    from brand_guides.admin_scoping import scope_q as scoped

    return scoped(user, brand_path)


def print_downloads(design: LineDesign) -> str:
    """Admin HTML: download links of an ordered design's print PNG and PDF ("pending" while not
    rendered), through the private-file view."""
    from .admin import print_downloads as links

    return links(design)


def can_manage_brand(user, brand_id) -> bool:
    """Whether this user may manage the brand with this id (a superuser: every brand, and rows
    of no brand)."""
    from brand_guides.access import can_manage_brand as can_manage

    return can_manage(user, brand_id)


def swatch(hex_value: str, *, title: str = "") -> str:
    """Admin HTML: a small coloured square followed by the hex code ("-" when empty)."""
    from brand_guides.admin import swatch as one

    return one(hex_value, title=title)


def swatches(colors) -> str:
    """Admin HTML: a row of small squares, one per (name, hex) pair."""
    from brand_guides.admin import swatches as row

    return row(colors)


def thumbnail(file_field, *, size: int = 64) -> str:
    """Admin HTML: an <img> preview of an image field, or a dash when empty."""
    from brand_guides.admin import thumbnail as preview

    return preview(file_field, size=size)


# --- names loaded on first use ------------------------------------------------------------------

_LAZY = {
    # models
    "GenerationRequest": "personalization.models",
    "GenerationImage": "personalization.models",
    "LineDesign": "personalization.models",
    "Brand": "brand_guides.models",
    "MaterialPreset": "brand_guides.models",
    "PaletteColor": "brand_guides.models",
    "StylePreset": "brand_guides.models",
    "Typography": "brand_guides.models",
    # errors
    "QuotaExceeded": "personalization.services",
    "InvalidTransition": "personalization.services",
    # model fields and validators of a host's models (the same objects, so migrations name the
    # defining module and never change)
    "AllowedImageField": "brand_guides.uploads",
    "hex_color_validator": "brand_guides.validators",
    # the brand-scoped admin: mixins for a host's ModelAdmin and inlines, and the owner's permissions
    "BrandScopedAdminMixin": "brand_guides.admin_scoping",
    "ScopedInlineMixin": "brand_guides.admin_scoping",
    "OWNER_ALL": "brand_guides.admin",
    # API: the counter-backed throttle bases (a subclass sets ``scope``, rated in
    # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]) and the public material serializer
    "CounterThrottle": "personalization.api.throttles",
    "AccountThrottle": "personalization.api.throttles",
    "ClientAddressThrottle": "personalization.api.throttles",
    "MaterialSerializer": "brand_guides.api.serializers",
    # the text-layer object of the API (a host's order line takes it as "text_layer")
    "TextLayerSerializer": "personalization.api.text",
    "TextLayerOutputSerializer": "personalization.api.text",
    # the shop's approval of an ordered design (a host's order line shows it as "review")
    "LineReviewSerializer": "personalization.api.review",
    # customer emails: what a host's email builder returns (queue_email)
    "Email": "personalization.emails",
    "InlineImage": "personalization.emails",
    # the view of customer files (local private storage): a host routes /private-media/<path:name> to it
    "private_file": "personalization.files",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "API_URLS",
    "BRAND_API_URLS",
    "HEALTH_URLS",
    "BASE_TEMPLATE",
    "PRESET_CHOICES",
    "STUDIO_URLS",
    "BaseColor",
    "HostAdapter",
    "OrderLineContact",
    "absolute_url",
    "fulfilment_refusal",
    "line_review",
    "email_thumbnail",
    "queue_email",
    "PrintArea",
    "ProductInfo",
    "can_manage_brand",
    "cancel_design",
    "describe_text_layer",
    "designs_for",
    "draw_template",
    "freeze_design",
    "line_text_layer",
    "image_preflight",
    "fulfilment_files",
    "fulfilment_line",
    "order_refusal",
    "preflight_refusal_for",
    "preset_choices",
    "preset_for_product",
    "print_downloads",
    "print_area_spec",
    "scope_q",
    "sees_all_brands",
    "submit_design",
    "swatch",
    "swatches",
    "text_form_values",
    "thumbnail",
    "validate_text_layer",
    "visitor_key",
    "visitor_session_key",
    *_LAZY,
]
