"""System checks of the plugin's settings (``manage.py check``): what a host must provide.

    personalization.E001  PERSONALIZATION["PRODUCT_MODEL"] missing or not an installed model
    personalization.E002  PERSONALIZATION["ORDER_LINE_MODEL"] missing or not an installed model
    personalization.E003  PERSONALIZATION["HOST_ADAPTER"] missing, not importable, or not a
                          personalization.interface.HostAdapter subclass
    personalization.E004  a problem in PRESET_OVERRIDES / DEFAULT_PRESET (one error per problem)

docs/PLUGIN.md describes each setting.
"""

from django.apps import apps
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from . import presets
from .conf import conf
from .hosts import HostAdapter

DOCS = "docs/PLUGIN.md"


def _model_error(key: str, error_id: str, example: str) -> Error | None:
    label = getattr(conf, key)
    hint = f'Set PERSONALIZATION["{key}"] to your shop\'s model, e.g. "{example}" (see {DOCS}).'
    if not label:
        return Error(f'PERSONALIZATION["{key}"] is not set.', hint=hint, id=error_id)
    try:
        apps.get_model(label, require_ready=False)
    except (ValueError, LookupError, TypeError) as exc:
        return Error(
            f'PERSONALIZATION["{key}"] = {label!r} is not an installed model ({exc}).', hint=hint, id=error_id
        )
    return None


def _adapter_error() -> Error | None:
    path = conf.HOST_ADAPTER
    hint = (
        'Set PERSONALIZATION["HOST_ADAPTER"] to the dotted path of your subclass of '
        f'personalization.interface.HostAdapter, e.g. "shop.personalization_host.ShopHost" (see {DOCS}).'
    )
    if not path:
        return Error('PERSONALIZATION["HOST_ADAPTER"] is not set.', hint=hint, id="personalization.E003")
    try:
        adapter = import_string(path)
    except ImportError as exc:
        return Error(
            f'PERSONALIZATION["HOST_ADAPTER"] = {path!r} cannot be imported: {exc}',
            hint=hint,
            id="personalization.E003",
        )
    if not (isinstance(adapter, type) and issubclass(adapter, HostAdapter)):
        return Error(
            f'PERSONALIZATION["HOST_ADAPTER"] = {path!r} is not a subclass of HostAdapter.',
            hint=hint,
            id="personalization.E003",
        )
    if missing := sorted(adapter.__abstractmethods__):
        return Error(
            f'PERSONALIZATION["HOST_ADAPTER"] = {path!r} does not implement {", ".join(missing)}.',
            hint=hint,
            id="personalization.E003",
        )
    return None


@register
def check_host(app_configs=None, **kwargs) -> list[Error]:
    """The host's models and adapter (E001-E003)."""
    found = [
        _model_error("PRODUCT_MODEL", "personalization.E001", "shop.Product"),
        _model_error("ORDER_LINE_MODEL", "personalization.E002", "shop.OrderLine"),
        _adapter_error(),
    ]
    return [error for error in found if error is not None]


@register
def check_presets(app_configs=None, **kwargs) -> list[Error]:
    """PRESET_OVERRIDES and DEFAULT_PRESET (E004, one error per problem)."""
    hint = f'Fix PERSONALIZATION["PRESET_OVERRIDES"] / ["DEFAULT_PRESET"] (see {DOCS}).'
    return [Error(problem, hint=hint, id="personalization.E004") for problem in presets.override_problems()]
