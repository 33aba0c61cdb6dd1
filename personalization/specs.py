"""Plain, frozen inputs of the conditioning modules (prompting, policy, quality, mockups, printing).

Services build these from the models (products, brand guides, materials, styles) so that the
conditioning code never touches the ORM and can be tested as plain functions. Sequences are
stored as tuples so every spec is immutable; lists given to the constructors are converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

CATEGORY_SLUGS = (
    "apparel",
    "accessories",
    "home-decor",
    "electronics-cases",
    "footwear",
    "stationery",
    "jewelry",
    "sports-equipment",
    "automotive-accessories",
    "pet-products",
    "kitchen-items",
    "garden-accessories",
)
PALETTE_ROLES = ("primary", "secondary", "accent", "background")
FINISHES = ("matte", "satin", "gloss", "metallic", "transparent")
LOGO_ANCHORS = (
    "top-left",
    "top-center",
    "top-right",
    "center",
    "bottom-left",
    "bottom-center",
    "bottom-right",
)

_HEX_RE = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def normalize_hex(value: str) -> str:
    """Return ``value`` as ``#rrggbb`` (lowercase); accepts ``rgb``/``#rgb``/``rrggbb``/``#rrggbb``."""
    match = _HEX_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a hex colour: {value!r}")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return f"#{digits}"


def normalize_category_slug(slug: str) -> str:
    """``"Home_Decor"`` -> ``"home-decor"`` (the request data uses underscores, the catalogue hyphens)."""
    return re.sub(r"[\s_]+", "-", slug.strip().lower())


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _text_tuple(values) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError("expected a sequence of strings, got a single string")
    return tuple(str(v) for v in values)


@dataclass(frozen=True, slots=True)
class ProductSpec:
    name: str
    product_type: str
    category_slug: str
    category_name: str
    base_color_name: str
    base_color_hex: str

    def __post_init__(self) -> None:
        _set(self, "category_slug", normalize_category_slug(self.category_slug))
        _set(self, "base_color_hex", normalize_hex(self.base_color_hex))


@dataclass(frozen=True, slots=True)
class PaletteColorSpec:
    name: str
    hex: str
    role: str = "primary"

    def __post_init__(self) -> None:
        _set(self, "hex", normalize_hex(self.hex))
        if self.role not in PALETTE_ROLES:
            raise ValueError(f"palette role must be one of {PALETTE_ROLES}, got {self.role!r}")


@dataclass(frozen=True, slots=True)
class BrandSpec:
    name: str
    style_keywords: tuple[str, ...] = ()
    negative_keywords: tuple[str, ...] = ()
    palette: tuple[PaletteColorSpec, ...] = ()
    banned_terms: tuple[str, ...] = ()
    trademark_allowlist: tuple[str, ...] = ()
    min_consistency_score: float = 70.0

    def __post_init__(self) -> None:
        for name in ("style_keywords", "negative_keywords", "banned_terms", "trademark_allowlist"):
            _set(self, name, _text_tuple(getattr(self, name)))
        _set(self, "palette", tuple(self.palette))
        if not all(isinstance(c, PaletteColorSpec) for c in self.palette):
            raise TypeError("palette must hold PaletteColorSpec items")
        if not 0 <= self.min_consistency_score <= 100:
            raise ValueError("min_consistency_score must be within 0..100")


@dataclass(frozen=True, slots=True)
class MaterialSpec:
    name: str
    finish: str = "matte"
    reflectance: float = 0.0
    texture_description: str = ""
    prompt_keywords: tuple[str, ...] = ()
    negative_keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.finish not in FINISHES:
            raise ValueError(f"finish must be one of {FINISHES}, got {self.finish!r}")
        if not 0 <= self.reflectance <= 1:
            raise ValueError("reflectance must be within 0..1")
        _set(self, "prompt_keywords", _text_tuple(self.prompt_keywords))
        _set(self, "negative_keywords", _text_tuple(self.negative_keywords))


@dataclass(frozen=True, slots=True)
class StyleSpec:
    """A merchant-written style. ``prompt_template`` may contain ``{subject}``; it is never passed
    to ``str.format`` (see prompting.style_phrases)."""

    name: str
    prompt_template: str
    negative_template: str = ""


@dataclass(frozen=True, slots=True)
class PrintAreaSpec:
    width_mm: float
    height_mm: float
    dpi: int
    safe_margin_mm: float = 0.0
    min_dpi: int = 150

    def __post_init__(self) -> None:
        if self.width_mm <= 0 or self.height_mm <= 0:
            raise ValueError("print area width and height must be positive")
        if self.dpi <= 0 or self.min_dpi <= 0:
            raise ValueError("dpi and min_dpi must be positive")
        if self.safe_margin_mm < 0 or 2 * self.safe_margin_mm >= min(self.width_mm, self.height_mm):
            raise ValueError("safe_margin_mm must be >= 0 and leave room inside the print area")

    def pixel_size(self, bleed_mm: float = 0.0) -> tuple[int, int]:
        """Pixels at ``dpi`` for the area plus ``bleed_mm`` on every side (rounded to nearest)."""
        return (
            round((self.width_mm + 2 * bleed_mm) / 25.4 * self.dpi),
            round((self.height_mm + 2 * bleed_mm) / 25.4 * self.dpi),
        )


@dataclass(frozen=True, slots=True)
class LogoSpec:
    image: Image | None = field(default=None, compare=False)
    anchor: str = "bottom-right"
    max_share: float = 0.25
    clear_space_mm: float = 0.0

    def __post_init__(self) -> None:
        if self.anchor not in LOGO_ANCHORS:
            raise ValueError(f"anchor must be one of {LOGO_ANCHORS}, got {self.anchor!r}")
        if not 0 < self.max_share <= 1:
            raise ValueError("max_share must be within (0, 1]")
        if self.clear_space_mm < 0:
            raise ValueError("clear_space_mm must be >= 0")
