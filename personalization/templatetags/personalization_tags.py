"""Small display helpers for the studio templates."""

from django import template

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
