"""Small display helpers for the studio templates."""

import math

from django import template

from personalization import presets

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """12.3 -> "12 s", 95 -> "1 min 35 s", None -> "" (for estimates and timings)."""
    if seconds in (None, ""):
        return ""
    seconds = float(seconds)
    if seconds < 1:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@register.filter
def percent(fraction) -> int:
    """0.42 -> 42, for a progress bar's width and aria-valuenow."""
    try:
        return max(0, min(100, round(float(fraction) * 100)))
    except (TypeError, ValueError):
        return 0


@register.filter
def wait_words(seconds) -> str:
    """A Retry-After in words, rounded up: 42 -> "42 seconds", 61 -> "2 minutes", 3601 -> "2 hours"."""
    seconds = max(1, int(seconds or 0))
    if seconds < 60:
        count, unit = seconds, "second"
    elif seconds < 3600:
        count, unit = -(-seconds // 60), "minute"
    else:
        count, unit = -(-seconds // 3600), "hour"
    return f"{count} {unit}{'' if count == 1 else 's'}"


@register.filter
def with_step(url: str, step) -> str:
    """The live preview's URL, changed at every step so the browser fetches the new picture. A signed
    URL (S3) is left alone: its signature covers the query, and each signing changes it anyway."""
    if not url or "?" in url:
        return url
    return f"{url}?step={step}"


@register.filter
def product_info(generation):
    """The host's description of a generation's product (``ProductInfo``: name, slug, category...),
    asked once per generation: ``{% with product=generation|product_info %}{{ product.name }}``."""
    from ..selectors import request_product_info

    return request_product_info(generation)


@register.filter
def preset_label(name) -> str:
    """A model preset's label: "sd-turbo" -> "SD-Turbo (SD 2.1 distilled, 1-4 steps)"; a name that
    is no longer a preset is shown as it is."""
    if not name:
        return ""
    try:
        return presets.get(str(name)).label
    except presets.UnknownPreset:
        return str(name)


@register.filter
def image_preflight(image) -> dict:
    """The preflight of a variation (``preflight.image_preflight``), for ``_preflight.html``:
    ``{% with preflight=image|image_preflight %}{% include ... %}{% endwith %}``."""
    from ..preflight import image_preflight as preflight

    return preflight(image)


@register.filter
def preflight_state(preflight) -> str:
    """The state a preflight dict is shown in: "blocked" (red: cannot be ordered), "warning" (amber:
    below the minimum but upscaled, something outside the safe area, a large crop) or "ok" (green)."""
    if not preflight:
        return ""
    if preflight.get("blocked"):
        return "blocked"
    if not preflight.get("ok") or not preflight.get("meets_minimum") or preflight.get("messages"):
        return "warning"
    return "ok"


@register.filter
def shown_dpi(preflight) -> int | str:
    """A preflight's effective DPI as a whole number: rounded, or rounded down when it is below the
    minimum (149.9 reads 149, never "150 dpi, minimum 150")."""
    try:
        dpi = float(preflight["effective_dpi"])
    except (KeyError, TypeError, ValueError):
        return ""
    return round(dpi) if preflight.get("meets_minimum") else math.floor(dpi)


@register.filter
def inches(mm) -> str:
    """Millimetres in inches, one decimal: 85 -> "3.3"."""
    try:
        return f"{float(mm) / 25.4:.1f}"
    except (TypeError, ValueError):
        return ""
