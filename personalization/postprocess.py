"""After the GPU: brand-consistency scoring, image checks, mockups and storage of one variation.

Pure Pillow/numpy/coloraide (no torch), so the web side can reuse it (e.g. to re-render mockups)."""

import io

from PIL import Image, ImageFilter

from brand_guides.uploads import ALLOWED_FORMATS

from . import mockups, quality
from .conditioning import logo_spec, palette_specs, print_area_spec
from .engine.metadata import png_bytes
from .hosts import ProductInfo
from .models import GenerationImage, GenerationRequest
from .selectors import request_product_info
from .storage import private_storage, request_prefix, store_bytes

# Live previews are stored as this many colour cells per side, blurred: no shape, text or skin detail
# survives until the final picture has passed the safety check.
PREVIEW_BLUR_CELLS = 6


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
    return mockups.draw_template(info.product_type, info.category_slug)


def render_mockup(image: Image.Image, req: GenerationRequest) -> Image.Image:
    info = request_product_info(req)
    template, box = _template(info)
    finish = req.material.finish if req.material else "matte"
    reflectance = req.material.reflectance if req.material else 0.1
    result = mockups.composite(
        design=image,
        template=template,
        box=box,
        base_color_hex=req.base_color_hex,
        finish=finish,
        reflectance=reflectance,
        logo=logo_spec(req.brand),
        print_area=print_area_spec(info),
    )
    return result[0] if isinstance(result, tuple) else result


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
