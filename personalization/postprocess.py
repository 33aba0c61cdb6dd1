"""After the GPU: brand-consistency scoring, image checks, mockups and storage of one variation.

Pure Pillow/numpy/coloraide (no torch), so the web side can reuse it (e.g. to re-render mockups)."""

import functools
import io

from PIL import Image, ImageFilter

from brand_guides.uploads import ALLOWED_FORMATS

from . import artwork, mockups, quality
from .artwork import ArtworkSpec, TextLayer
from .conditioning import artwork_spec_for, palette_specs
from .conf import conf
from .engine.metadata import png_bytes
from .hosts import ProductInfo
from .models import GenerationImage, GenerationRequest
from .selectors import request_product_info
from .storage import private_storage, request_prefix, store_bytes

# Live previews are stored as this many colour cells per side, blurred: no shape, text or skin detail
# survives until the final picture has passed the safety check.
PREVIEW_BLUR_CELLS = 6
# Mockup artwork is composed at this multiple of the mockup's scale, then reduced (Lanczos): thin
# text and logo edges come out as the print file's do when it is viewed at the mockup's size.
MOCKUP_SUPERSAMPLE = 2


def image_key(req: GenerationRequest, index: int, name: str) -> str:
    return f"{request_prefix(req.pk)}/{index}/{name}"


def preview_key(req: GenerationRequest) -> str:
    return f"{request_prefix(req.pk)}/preview.png"


def assess(image: Image.Image, req: GenerationRequest) -> tuple[float | None, list[str]]:
    """(brand-consistency score 0..100 or None without a palette, quality flags)."""
    flags = quality.image_checks(image)
    palette = palette_specs(req.brand)
    return quality.brand_consistency(image, palette), flags


def below_minimum(score: float | None, flags: list[str], req: GenerationRequest) -> bool:
    if flags:
        return True
    return score is not None and score < req.brand.min_consistency_score


def harmonized(image: Image.Image, req: GenerationRequest) -> Image.Image:
    if not req.brand.harmonize_palette:
        return image
    return quality.harmonize(image, palette_specs(req.brand))


def _template(info: ProductInfo) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The host's product picture and its print box, or one drawn for the product type."""
    if info.mockup_template:
        with info.mockup_template.open("rb") as fh:
            template = Image.open(fh, formats=ALLOWED_FORMATS)  # no other Pillow plugin
            template.load()
        return template.convert("RGBA"), tuple(info.mockup_box)
    return _drawn_template(info.product_type, info.category_slug)


@functools.lru_cache(maxsize=32)
def _drawn_template(product_type: str, category_slug: str):
    """A drawn product picture, kept per process (drawing one takes ~0.1 s; compositing only reads
    it, so every mockup and live preview of the product type shares it)."""
    return mockups.draw_template(product_type, category_slug)


def render_mockup(
    image: Image.Image,
    req: GenerationRequest,
    *,
    text: TextLayer | None = None,
    spec: ArtworkSpec | None = None,
) -> Image.Image:
    """The mockup of a design of ``req``: its artwork (``spec``, or the request's as the brand is
    now with ``text``: ``conditioning.artwork_spec_for``) on the product in the request's base
    colour and material finish."""
    info = request_product_info(req)
    if spec is None:
        spec = artwork_spec_for(req, text=text)
    return mockup_for_spec(
        image,
        spec,
        info,
        base_color_hex=req.base_color_hex,
        finish=req.material.finish if req.material else "matte",
        reflectance=req.material.reflectance if req.material else 0.1,
    )


def mockup_for_spec(
    image: Image.Image,
    spec: ArtworkSpec,
    info: ProductInfo,
    *,
    base_color_hex: str,
    finish: str,
    reflectance: float,
) -> Image.Image:
    """The design composed with ``spec`` (``artwork.compose`` at the scale of the product's print
    box) and printed on the product's template: the same artwork the print file holds, so a frozen
    spec (``conditioning.artwork_spec_frozen``) re-renders an ordered line's mockup. It is composed
    with the print file's bleed (PRINT_BLEED_MM) and trimmed, so the design is cropped exactly as
    it is in the print file's trim box; the product's print rect (``mockups.print_rect``: the print
    area's aspect, centred in the template's print box) receives it."""
    template, box = _template(info)
    area = spec.print_area
    where = mockups.print_rect(mockups.print_box_pixels(box, template.size), area.width_mm / area.height_mm)
    size = (where[2] - where[0], where[3] - where[1])
    px_per_mm = MOCKUP_SUPERSAMPLE * size[0] / area.width_mm
    art = artwork.compose(image, spec, px_per_mm=px_per_mm, bleed_mm=conf.PRINT_BLEED_MM).trimmed()
    # to the print rect's pixels exactly (the trim's rounding may be a pixel off the area's aspect)
    art = art.resize(size, Image.Resampling.LANCZOS)
    return mockups.composite(
        artwork=art,
        template=template,
        box=box,
        base_color_hex=base_color_hex,
        finish=finish,
        reflectance=reflectance,
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)  # lossless, fast
    return buffer.getvalue()


def store_variation(
    *,
    req: GenerationRequest,
    index: int,
    image: Image.Image,
    seed: int,
    score: float | None,
    flags: list[str],
    reseeded_from: int | None,
    seconds: float,
    safety: dict | None = None,
) -> GenerationImage:
    # The request's recipe at this variation's seed (a re-seed's own), plus where it belongs.
    parameters = req.recipe.png_parameters(seed=seed)
    parameters["extra"] = {**parameters["extra"], "request": str(req.pk), "variation": str(index)}
    design = png_bytes(image, **parameters)
    image_name = store_bytes(image_key(req, index, "design.png"), design)
    mockup_name = store_bytes(image_key(req, index, "mockup.png"), _png(render_mockup(image, req)))
    variation, _ = GenerationImage.objects.update_or_create(
        request=req,
        index=index,
        defaults={
            "seed": seed,
            "image": image_name,
            "mockup": mockup_name,
            "width": image.width,
            "height": image.height,
            "brand_consistency": None if score is None else round(score, 2),
            "quality_flags": flags,
            "reseeded_from": reseeded_from,
            "flagged": below_minimum(score, flags, req),
            "generation_seconds": round(seconds, 3),
            "safety": safety or {},
        },
    )
    return variation


def blurred(image: Image.Image, *, cells: int = PREVIEW_BLUR_CELLS) -> Image.Image:
    """The picture reduced to cells x cells colours, scaled back and blurred: only colour blobs."""
    small = image.convert("RGB").resize((cells, cells), Image.Resampling.BOX)
    big = small.resize(image.size, Image.Resampling.BICUBIC)
    return big.filter(ImageFilter.GaussianBlur(radius=max(image.size) / cells / 2))


def store_preview(req: GenerationRequest, image: Image.Image) -> str:
    """A live (unchecked) preview: stored heavily blurred."""
    return store_bytes(preview_key(req), _png(blurred(image)))


def store_checked_preview(req: GenerationRequest, image: Image.Image, *, size: int) -> str:
    """After the final picture passed the check: a small sharp thumbnail of it replaces the blur."""
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((size, size), Image.Resampling.LANCZOS)
    name = store_bytes(preview_key(req), _png(thumbnail))
    GenerationRequest.objects.filter(pk=req.pk).update(preview=name)
    return name


def discard_outputs(req: GenerationRequest) -> int:
    """Delete every picture stored for a request (variations, mockups, the preview; the customer's
    reference photo stays): nothing of a rejected output can be seen or ordered. Returns the number
    of variation rows removed."""
    prefix = f"{request_prefix(req.pk)}/"
    rows = GenerationImage.objects.filter(request_id=req.pk)
    names = [name for row in rows for name in (row.image.name, row.mockup.name)]
    names.append(preview_key(req))
    removed, _ = rows.delete()
    GenerationRequest.objects.filter(pk=req.pk).update(preview="")
    for name in dict.fromkeys(names):
        if name and name.startswith(prefix):  # never another request's files (cache hits share names)
            private_storage.delete(name)
    return removed
