"""The printed artwork, composed ONCE from its layers, for the mockup and for the print file alike.

    generated design --(fit: cover/contain; optional cut-out of a plain background)--+
    brand logo (the brand's placement rules, ``mockups.logo_rect``)                  +--> compose()
    optional text or monogram layer (a brand font, a palette colour, in the safe zone) +

``compose(design, spec, px_per_mm=..., bleed_mm=...)`` draws the artwork on a transparent canvas the
size of the print area (plus bleed) at any resolution: the mockup calls it at the mockup's scale and
prints the trimmed artwork into the product's print box; the print job calls it at the product's
DPI with bleed. Nothing else draws a layer, so what the customer approves is what prints.

Pure Pillow/numpy: no torch, no ORM. ``conditioning`` builds an ``ArtworkSpec`` from the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .specs import LogoSpec, PrintAreaSpec, normalize_hex

if TYPE_CHECKING:
    from PIL.Image import Image

FITS = ("cover", "contain")
TEXT_KINDS = ("line", "monogram")
TEXT_SIZES = ("small", "medium", "large")
TEXT_POSITIONS = ("top", "middle", "bottom")
TEXT_CURVES = ("straight", "arc")
MONOGRAM_LENGTHS = (2, 3)

Rect = tuple[int, int, int, int]  # (left, top, right, bottom) pixels, right/bottom exclusive


@dataclass(frozen=True, slots=True)
class TextLayer:
    """A line of text (a name, a date, a short message) or a 2-3 letter monogram, as validated by
    ``personalization.text_layers.text_layer_from`` (this class only checks its own vocabulary).

    ``font`` is the key of one of the brand's fonts (a ``brand_guides.Typography`` role: "heading",
    "body" or "accent"); ``color_hex`` is one of the brand palette's colours."""

    text: str
    kind: str = "line"
    font: str = ""
    color_hex: str = "#000000"
    size: str = "medium"
    position: str = "bottom"
    curve: str = "straight"

    def __post_init__(self) -> None:
        object.__setattr__(self, "color_hex", normalize_hex(self.color_hex))
        for name, allowed in (
            ("kind", TEXT_KINDS),
            ("size", TEXT_SIZES),
            ("position", TEXT_POSITIONS),
            ("curve", TEXT_CURVES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.text:
            raise ValueError("a text layer needs text")

    def as_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "kind": self.kind,
            "font": self.font,
            "color_hex": self.color_hex,
            "size": self.size,
            "position": self.position,
            "curve": self.curve,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> TextLayer | None:
        """The layer stored by ``as_dict`` (None for an empty or missing one)."""
        if not data or not data.get("text"):
            return None
        return cls(**{key: data[key] for key in cls.__slots__ if key in data})


@dataclass(frozen=True, slots=True)
class ArtworkSpec:
    """Everything composed onto a design, besides the design itself.

    ``font`` holds the bytes of the TTF/OTF file of ``text.font`` (needed when ``text`` is set);
    ``logo.image`` the brand logo. ``as_dict`` is the JSON frozen on an order line (no binaries)."""

    print_area: PrintAreaSpec
    fit: str = "cover"
    transparent_background: bool = False
    logo: LogoSpec | None = None
    text: TextLayer | None = None
    font: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {self.fit!r}")
        if self.text is not None and not self.font:
            raise ValueError("a text layer needs its font's bytes")

    def as_dict(self) -> dict[str, Any]:
        area = self.print_area
        logo = self.logo
        return {
            "print_area": {
                "width_mm": area.width_mm,
                "height_mm": area.height_mm,
                "dpi": area.dpi,
                "min_dpi": area.min_dpi,
                "safe_margin_mm": area.safe_margin_mm,
            },
            "fit": self.fit,
            "transparent_background": self.transparent_background,
            "logo": None
            if logo is None or logo.image is None
            else {"anchor": logo.anchor, "max_share": logo.max_share, "clear_space_mm": logo.clear_space_mm},
            "text": None if self.text is None else self.text.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Artwork:
    """The composed artwork: ``image`` (RGBA) is the print area plus bleed at ``px_per_mm``.

    ``trim`` is the print area inside it (the bleed around it), ``safe`` the trim inset by the safe
    margin; ``boxes`` where each layer was drawn ("design", "logo", "text"; a layer that was not
    drawn is absent), all in ``image``'s pixels."""

    image: Image = field(repr=False)
    px_per_mm: float
    trim: Rect
    safe: Rect
    boxes: dict[str, Rect]

    def trimmed(self) -> Image:
        """The artwork without its bleed: what the mockup prints into the product's print box."""
        return self.image.crop(self.trim)
