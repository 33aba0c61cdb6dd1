"""The customer's text on a product (a name, a date, a short message, or a 2-3 letter monogram):
validated once, here, for the studio form, the REST API, the cart and the order alike.

    layer = text_layer_from({"text": "Ada", "font": "heading", "color": "Navy"}, brand=brand, info=info)
    # -> TextLayer(text="Ada", kind="line", font="heading", color_hex="#1f2a44", ...), or None

Rules (each broken rule is a field error under its key of ``TEXT_FIELDS``):

- ``text``: stripped and NFC-normalised; control and other invisible characters (Unicode category
  C*: zero-width characters, bidi overrides, line breaks...) are refused, not removed, as the text
  prints verbatim; at most the product's ``text_max_length`` characters; a monogram is 2 or 3
  letters, upper-cased. The content policy applies exactly as to the description
  (``policy.check_for_brand``: banned terms, trademarks, protected names, the same normalisation):
  since the text is short and printed as typed, every violation refuses it, a protected name whose
  outcome is "review" too (there is no design to hold: the customer leaves the name out).
- ``font``: a brand typography role with a font file (default: "heading", else the first);
  every character must be in that font. A brand without font files offers no text.
- ``color``: a palette colour, by name (any case) or hex (default: the first "primary" colour);
  a brand without a palette offers black and white.
- ``kind``, ``size``, ``position``, ``curve``: the vocabularies of ``personalization.artwork``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from brand_guides.fonts import FontError, missing_characters

from . import policy, product_types
from .artwork import MONOGRAM_LENGTHS, TEXT_CURVES, TEXT_KINDS, TEXT_POSITIONS, TEXT_SIZES, TextLayer
from .conditioning import BrandFont, brand_fonts
from .hosts import ProductInfo
from .specs import normalize_hex

TEXT_FIELDS = ("text", "kind", "font", "color", "size", "position", "curve")
DEFAULTS = {"kind": "line", "size": "medium", "position": "bottom", "curve": "straight"}
CHOICES = {"kind": TEXT_KINDS, "size": TEXT_SIZES, "position": TEXT_POSITIONS, "curve": TEXT_CURVES}
# Offered when a brand has no palette.
PLAIN_COLORS = (
    {"name": "Black", "hex": "#000000", "role": ""},
    {"name": "White", "hex": "#ffffff", "role": ""},
)

NO_FONTS = "This brand offers no fonts for text yet."
CONTROL = "Remove the control characters from the text."
MONOGRAM = "A monogram is 2 or 3 letters, without spaces, digits or punctuation."
# Unicode categories refused in printed text: C* (controls, format characters such as zero-width
# spaces, joiners and bidi overrides, private use, unassigned) and the line/paragraph separators.
_REFUSED_CATEGORIES = ("C", "Zl", "Zp")


def max_length(info: ProductInfo) -> int:
    """The most characters of a text layer on this product: the host's value, else its type's."""
    return info.text_max_length or product_types.text_max_length(info.product_type, info.category_slug)


def palette_colors(brand) -> list[dict[str, str]]:
    """The colours text may take: the brand palette's (name, lowercase hex, role), in order."""
    colors = [{"name": c.name, "hex": c.hex.lower(), "role": c.role} for c in brand.palette.all()]
    return colors or [dict(c) for c in PLAIN_COLORS]


def default_color(colors: list[dict[str, str]]) -> dict[str, str]:
    return next((c for c in colors if c["role"] == "primary"), colors[0])


def _choose_font(fonts: dict[str, BrandFont]) -> str:
    return "heading" if "heading" in fonts else next(iter(fonts))


def text_options(brand, info: ProductInfo) -> dict[str, Any]:
    """What the customer may choose for a text layer on this product (for the studio and the API):
    ``available`` (False: the brand has no fonts), ``max_length``, ``monogram_lengths``, ``fonts``
    (key, label, family, style), ``colors`` (name, hex, role), ``kinds``, ``sizes``, ``positions``,
    ``curves`` and the ``defaults`` of each field (the font key and the colour's hex)."""
    fonts = brand_fonts(brand)
    colors = palette_colors(brand)
    return {
        "available": bool(fonts),
        "max_length": max_length(info),
        "monogram_lengths": list(MONOGRAM_LENGTHS),
        "fonts": [
            {"key": f.key, "label": f.label, "family": f.family, "style": f.style} for f in fonts.values()
        ],
        "colors": colors,
        "kinds": list(TEXT_KINDS),
        "sizes": list(TEXT_SIZES),
        "positions": list(TEXT_POSITIONS),
        "curves": list(TEXT_CURVES),
        "defaults": {
            **DEFAULTS,
            "position": default_position(brand),
            "font": _choose_font(fonts) if fonts else "",
            "color": default_color(colors)["hex"],
        },
    }


def default_position(brand) -> str:
    """Where a text goes when the customer does not say: clear of the brand's logo (a logo at the
    bottom sends it to the top; elsewhere, or without a logo, the bottom)."""
    if getattr(brand, "logo", None) and str(getattr(brand, "logo_anchor", "")).startswith("bottom"):
        return "top"
    return DEFAULTS["position"]


def _value(values: Mapping[str, Any], key: str, errors: dict[str, list[str]]) -> str:
    """The submitted value as a string ("" when missing); an error for a value of another type."""
    raw = values.get(key)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        errors.setdefault(key, []).append("Enter this as text.")
        return ""
    return raw


def _clean_text(raw: str, *, kind: str, limit: int, errors: dict[str, list[str]]) -> str:
    text = unicodedata.normalize("NFC", raw.strip())
    if any(unicodedata.category(ch).startswith(_REFUSED_CATEGORIES) for ch in text):
        errors.setdefault("text", []).append(CONTROL)
        return ""
    if kind == "monogram":
        text = text.upper()  # counted as printed: "ß" upper-cases to "SS"
        if not (len(text) in MONOGRAM_LENGTHS and text.isalpha()):
            errors.setdefault("text", []).append(MONOGRAM)
            return ""
        return text
    if len(text) > limit:
        errors.setdefault("text", []).append(
            f"Your text is {len(text)} characters long; this product takes {limit} at most."
        )
        return ""
    return text


def _choice(key: str, raw: str, errors: dict[str, list[str]], *, default: str | None = None) -> str:
    value = raw.strip().lower() or default or DEFAULTS[key]
    if value not in CHOICES[key]:
        errors.setdefault(key, []).append(f"Choose one of: {', '.join(CHOICES[key])}.")
    return value


def _color(raw: str, colors: list[dict[str, str]], errors: dict[str, list[str]]) -> str:
    wanted = raw.strip()
    if not wanted:
        return default_color(colors)["hex"]
    try:
        as_hex = normalize_hex(wanted)
    except ValueError:
        as_hex = None
    for color in colors:
        if color["name"].casefold() == wanted.casefold() or color["hex"] == as_hex:
            return color["hex"]
    names = ", ".join(c["name"] for c in colors)
    errors.setdefault("color", []).append(f"Choose one of the brand's colours: {names}.")
    return ""


def _policy_messages(text: str, *, brand) -> list[str]:
    """What the content policy says against the text (the description's rules, label "text")."""
    messages = []
    for violation in policy.check_for_brand(brand=brand, texts={"text": text}):
        if violation.outcome == "review":  # its message is for staff: tell the customer instead
            messages.append(f"Your text names “{violation.term}”, which we can't print: leave the name out.")
        else:
            messages.append(violation.message)
    return list(dict.fromkeys(messages))


def text_layer_from(values: Mapping[str, Any], *, brand, info: ProductInfo) -> TextLayer | None:
    """The customer's text layer from submitted ``values`` (keys of ``TEXT_FIELDS``, all optional),
    checked against the brand and the product; None when the text is blank (the other keys are then
    ignored). Raises ``ValidationError({key: [message, ...]})`` with every field's problems."""
    errors: dict[str, list[str]] = {}
    raw_text = _value(values, "text", errors)
    if not errors and not raw_text.strip():
        return None
    fonts = brand_fonts(brand)
    if not fonts:
        raise ValidationError({"text": [NO_FONTS]})

    kind = _choice("kind", _value(values, "kind", errors), errors)
    size = _choice("size", _value(values, "size", errors), errors)
    position = _choice(
        "position", _value(values, "position", errors), errors, default=default_position(brand)
    )
    curve = _choice("curve", _value(values, "curve", errors), errors)
    color_hex = _color(_value(values, "color", errors), palette_colors(brand), errors)

    font_key = _value(values, "font", errors).strip() or _choose_font(fonts)
    font = fonts.get(font_key)
    if font is None:
        choices = ", ".join(f"{f.key} ({f.family})" for f in fonts.values())
        errors.setdefault("font", []).append(f"Choose one of the brand's fonts: {choices}.")

    text = ""
    if "text" not in errors:
        text = _clean_text(
            raw_text, kind=kind if kind in TEXT_KINDS else "line", limit=max_length(info), errors=errors
        )
    if text and font is not None:
        try:
            missing = missing_characters(font.load(), text)
        except (FontError, OSError):
            missing = ""
            errors.setdefault("font", []).append("This font cannot be read: choose another one.")
        if missing:
            shown = ", ".join("space" if ch == " " else ch for ch in missing)
            errors.setdefault("text", []).append(f"The font {font.family} cannot draw: {shown}.")
    if text:
        errors.setdefault("text", []).extend(_policy_messages(text, brand=brand))
        if not errors["text"]:
            del errors["text"]

    if errors:
        raise ValidationError(errors)
    return TextLayer(
        text=text, kind=kind, font=font_key, color_hex=color_hex, size=size, position=position, curve=curve
    )
