"""Turn the host's product descriptions (``hosts.ProductInfo``) and the brand guide's models into
the plain specs that the pure conditioning modules (prompting, policy, quality, mockups, printing)
take. Reads only; no torch."""

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image

from brand_guides.fonts import FontError, inspect_font
from brand_guides.uploads import ALLOWED_FORMATS

from .artwork import ArtworkSpec, TextLayer
from .conf import conf
from .hosts import PrintArea, ProductInfo
from .specs import (
    BrandSpec,
    LogoSpec,
    MaterialSpec,
    PaletteColorSpec,
    PrintAreaSpec,
    ProductSpec,
    StyleSpec,
)

logger = logging.getLogger(__name__)


def product_spec(info: ProductInfo, *, base_color_name: str, base_color_hex: str) -> ProductSpec:
    """The product as prompting sees it, from the host adapter's description of it."""
    return ProductSpec(
        name=info.name,
        product_type=info.product_type,
        category_slug=info.category_slug,
        category_name=info.category_name,
        base_color_name=base_color_name,
        base_color_hex=base_color_hex,
    )


def palette_specs(brand) -> tuple[PaletteColorSpec, ...]:
    return tuple(PaletteColorSpec(name=c.name, hex=c.hex, role=c.role) for c in brand.palette.all())


def brand_spec(brand) -> BrandSpec:
    return BrandSpec(
        name=brand.name,
        style_keywords=tuple(brand.style_keyword_list),
        negative_keywords=tuple(brand.negative_keyword_list),
        palette=palette_specs(brand),
        banned_terms=tuple(brand.banned_term_list),
        trademark_allowlist=tuple(brand.trademark_allowlist_list),
        min_consistency_score=brand.min_consistency_score,
    )


def material_spec(material) -> MaterialSpec | None:
    if material is None:
        return None
    return MaterialSpec(
        name=material.name,
        finish=material.finish,
        reflectance=material.reflectance,
        texture_description=material.texture_description,
        prompt_keywords=tuple(material.prompt_keyword_list),
        negative_keywords=tuple(material.negative_keyword_list),
    )


def style_spec(style) -> StyleSpec | None:
    if style is None:
        return None
    return StyleSpec(
        name=style.name, prompt_template=style.prompt_template, negative_template=style.negative_template
    )


def print_area_spec(area: PrintArea | ProductInfo) -> PrintAreaSpec:
    """The print area (a ``PrintArea``, or a ``ProductInfo``'s) as the print and mockup code take it.
    Raises ValueError for an area that cannot be printed (no size, no room inside the margins)."""
    if isinstance(area, ProductInfo):
        area = area.print_area
    return PrintAreaSpec(
        width_mm=area.width_mm,
        height_mm=area.height_mm,
        dpi=area.dpi,
        safe_margin_mm=area.safe_margin_mm,
        min_dpi=area.min_dpi,
    )


def logo_spec(brand) -> LogoSpec | None:
    """The brand's logo and its placement rules; None without a logo, or (logged) when its stored
    file cannot be read: pages, previews and orders go on without it rather than fail."""
    if not brand.logo:
        return None
    try:
        with brand.logo.open("rb") as fh:
            image = Image.open(fh, formats=ALLOWED_FORMATS)  # no other Pillow plugin on a stored upload
            image.load()
    except OSError as exc:  # missing from the storage, or not a readable picture any more
        logger.warning("Logo of brand %s unreadable (%s): left out", brand.pk, exc)
        return None
    return LogoSpec(
        image=image.convert("RGBA"),
        anchor=brand.logo_anchor,
        max_share=brand.logo_max_share,
        clear_space_mm=brand.logo_clear_space_mm,
    )


@lru_cache(maxsize=4)
def _token_counter(model: str):
    from .tokens import token_counter_for

    return token_counter_for(model or None)


def token_counter():
    """Counts CLIP tokens with the configured model's tokenizer when it is on disk (no torch)."""
    return _token_counter(str(conf.MODEL))


@dataclass(frozen=True, slots=True)
class BrandFont:
    """One of a brand's fonts that customers' text may be set in: a ``Typography`` row with a file.

    ``key`` is its role ("heading", "body", "accent"), the ``TextLayer.font`` that names it;
    ``load()`` reads the TTF/OTF bytes (once per stored file in this process)."""

    key: str
    label: str  # the role as the shop owner named it: "Headings"
    family: str
    style: str
    file_name: str = field(repr=False)
    storage: Any = field(repr=False, compare=False)

    def load(self) -> bytes:
        return _font_bytes(self.storage, self.file_name)


_FONT_CACHE: dict[tuple[str, str, str], bytes] = {}
_FONT_CACHE_SIZE = 16


def _font_bytes(storage, name: str) -> bytes:
    """A stored font's bytes, kept for this process: stored names are never rewritten in place (an
    upload gets a new name), so the storage's place (bucket, folder) and the name are the key."""
    key = (str(getattr(storage, "bucket_name", "")), str(getattr(storage, "location", "")), name)
    data = _FONT_CACHE.get(key)
    if data is None:
        with storage.open(name, "rb") as fh:
            data = fh.read()
        if len(_FONT_CACHE) >= _FONT_CACHE_SIZE:
            _FONT_CACHE.pop(next(iter(_FONT_CACHE)))
        _FONT_CACHE[key] = data
    return data


def brand_fonts(brand) -> dict[str, BrandFont]:
    """The brand's fonts with a file, by role, in the order heading, body, accent (the first is the
    default of a text layer). A font whose stored file cannot be read is left out."""
    order = {role: i for i, role in enumerate(("heading", "body", "accent"))}
    rows = sorted(
        (t for t in brand.typography.all() if t.font_file), key=lambda t: order.get(t.role, len(order))
    )
    fonts: dict[str, BrandFont] = {}
    for row in rows:
        try:
            facts = inspect_font(_font_bytes(row.font_file.storage, row.font_file.name))
        except (FontError, OSError):
            continue
        fonts[row.role] = BrandFont(
            key=row.role,
            label=row.get_role_display(),
            family=row.font_family or facts.family,
            style=facts.style,
            file_name=row.font_file.name,
            storage=row.font_file.storage,
        )
    return fonts


def artwork_spec_for(req, *, text: TextLayer | None = None) -> ArtworkSpec:
    """What is composed onto a design of this request, with the brand as it is now: the product's
    print area, the brand logo and its placement, the request's transparent background, and the
    customer's text layer (validated by ``text_layers.text_layer_from``) with its font's bytes.
    Raises ValueError when the text names a font the brand no longer has."""
    from .selectors import request_product_info

    font = None
    if text is not None:
        chosen = brand_fonts(req.brand).get(text.font)
        if chosen is None:
            raise ValueError(f"the brand has no font {text.font!r} for the text layer")
        font = chosen.load()
    return ArtworkSpec(
        print_area=print_area_spec(request_product_info(req)),
        fit="cover",
        transparent_background=bool(req.transparent_background),
        logo=logo_spec(req.brand),
        text=text,
        font=font,
    )


def _stored_image(file_field) -> Image.Image:
    with file_field.open("rb") as fh:
        image = Image.open(fh, formats=ALLOWED_FORMATS)
        image.load()
    return image.convert("RGBA")


def artwork_spec_frozen(design) -> ArtworkSpec:
    """The ``ArtworkSpec`` frozen on an ordered design (``LineDesign``): its ``composition``
    (``ArtworkSpec.as_dict()``) with the logo and font files copied when it was ordered, so later
    edits of the brand change nothing. A line ordered before compositions were frozen
    (``composition == {}``) gets its frozen print area, its frozen logo if any, cover, no text."""
    composition = design.composition or {}
    area = composition.get("print_area") or design.print_area
    print_area = PrintAreaSpec(
        width_mm=area["width_mm"],
        height_mm=area["height_mm"],
        dpi=area["dpi"],
        safe_margin_mm=area.get("safe_margin_mm", 0),
        min_dpi=area.get("min_dpi", 150),
    )
    placement = composition.get("logo")
    logo = None
    if design.logo and (placement or not composition):
        logo = LogoSpec(image=_stored_image(design.logo), **(placement or {}))
    text = TextLayer.from_dict(composition.get("text"))
    font = None
    if text is not None:
        if not design.text_font:
            raise ValueError("the design's text layer has no frozen font file")
        with design.text_font.open("rb") as fh:
            font = fh.read()
    return ArtworkSpec(
        print_area=print_area,
        fit=composition.get("fit", "cover"),
        transparent_background=bool(composition.get("transparent_background", False)),
        logo=logo,
        text=text,
        font=font,
    )
