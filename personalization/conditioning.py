"""Turn the host's product descriptions (``hosts.ProductInfo``) and the brand guide's models into
the plain specs that the pure conditioning modules (prompting, policy, quality, mockups, printing)
take. Reads only; no torch."""

from functools import lru_cache

from PIL import Image

from brand_guides.uploads import ALLOWED_FORMATS

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
    if not brand.logo:
        return None
    with brand.logo.open("rb") as fh:
        image = Image.open(fh, formats=ALLOWED_FORMATS)  # no other Pillow plugin on a stored upload
        image.load()
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
