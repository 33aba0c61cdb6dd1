"""After the GPU: brand-consistency scoring, image checks, mockups and storage of one variation.

Pure Pillow/numpy/coloraide (no torch), so the web side can reuse it (e.g. to re-render mockups)."""

import io

from PIL import Image

from . import mockups, quality
from .conditioning import logo_spec, palette_specs, print_area_spec
from .engine.metadata import png_bytes
from .models import GenerationImage, GenerationRequest
from .storage import request_prefix, store_bytes


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


def _template(product) -> tuple[Image.Image, tuple[float, float, float, float]]:
    if product.mockup_template:
        with product.mockup_template.open("rb") as fh:
            template = Image.open(fh)
            template.load()
        return template.convert("RGBA"), product.mockup_box
    return mockups.draw_template(product.product_type, product.category.slug)


def render_mockup(image: Image.Image, req: GenerationRequest) -> Image.Image:
    template, box = _template(req.product)
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
        print_area=print_area_spec(req.product),
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
) -> GenerationImage:
    design = png_bytes(
        image,
        prompt=req.optimized_prompt,
        negative_prompt=req.negative_prompt,
        seed=seed,
        steps=req.steps,
        guidance_scale=req.guidance_scale,
        scheduler=req.scheduler_name,
        model=req.model_name,
        width=req.width,
        height=req.height,
        extra={"request": str(req.pk), "variation": str(index)},
    )
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
        },
    )
    return variation


def store_preview(req: GenerationRequest, image: Image.Image) -> str:
    return store_bytes(preview_key(req), _png(image))
