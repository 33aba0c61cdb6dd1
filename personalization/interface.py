"""The plugin's public face: the only module a host shop imports (``lint-imports`` enforces it).

What a host does with the plugin, in one place:

- describe its products to the plugin: subclass ``HostAdapter`` (returning ``ProductInfo``) and name
  it in ``PERSONALIZATION["HOST_ADAPTER"]``;
- include the URLs: ``path("", include(STUDIO_URLS))``, ``path("api/", include(API_URLS))``;
- let customers submit, cancel and list designs (the studio does it for them; hosts rarely need to);
- freeze a chosen design onto a placed order line (``freeze_design``), refusing designs that may
  not be ordered (``order_refusal``);
- render the studio inside its own pages by overriding ``personalization/base.html``.

Names that are classes or models are loaded on first use (PEP 562), so importing this module from a
host's ``models.py`` loads nothing else. docs/PLUGIN.md has a complete minimal host.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .hosts import BaseColor, HostAdapter, PrintArea, ProductInfo
from .presets import CHOICES as PRESET_CHOICES

if TYPE_CHECKING:
    from .models import GenerationImage, GenerationRequest, LineDesign

STUDIO_URLS = "personalization.urls"
API_URLS = "personalization.api.urls"
BASE_TEMPLATE = "personalization/base.html"


# --- designs --------------------------------------------------------------------------------------


def submit_design(**fields) -> GenerationRequest:
    """Validate and queue a design request (the studio and the API call the same service).
    Raises django ValidationError (field -> message) or ``QuotaExceeded``."""
    from .services import generation_request_create

    return generation_request_create(**fields)


def cancel_design(*, generation: GenerationRequest) -> GenerationRequest:
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


def freeze_design(*, order_line, image: GenerationImage) -> LineDesign:
    """Attach a copy of a chosen variation (files, prompts, seed, recipe, model) to a placed order
    line, and queue its print file. Raises ValidationError when the design may not be ordered."""
    from .services import line_design_create

    return line_design_create(order_line=order_line, image=image)


# --- visitors ---------------------------------------------------------------------------------


def visitor_session_key(request) -> str:
    """The anonymous visitor's key in this session ("" when it has none yet)."""
    from .visitors import SESSION_KEY

    return request.session.get(SESSION_KEY, "")


def visitor_key(request) -> str:
    """The anonymous visitor's key, created on first use."""
    from .visitors import visitor_key as key

    return key(request)


# --- names loaded on first use ------------------------------------------------------------------

_LAZY = {
    # models
    "GenerationRequest": "personalization.models",
    "GenerationImage": "personalization.models",
    "LineDesign": "personalization.models",
    "QuotaExceeded": "personalization.services",
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
    "BASE_TEMPLATE",
    "PRESET_CHOICES",
    "STUDIO_URLS",
    "BaseColor",
    "HostAdapter",
    "PrintArea",
    "ProductInfo",
    "cancel_design",
    "designs_for",
    "freeze_design",
    "order_refusal",
    "submit_design",
    "visitor_key",
    "visitor_session_key",
    *_LAZY,
]
