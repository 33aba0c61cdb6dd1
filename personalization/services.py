"""Writes of the personalization plugin: the storefront, the REST API, the admin and the worker
all go through these functions, so every rule (limits, policy, quotas) is written once."""

import hashlib
import io
import math
import secrets

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps

from brand_guides import uploads
from brand_guides.selectors import preset_offered_for

from . import limits, policy
from .conditioning import brand_spec, material_spec, product_spec, style_spec, token_counter
from .conf import conf
from .engine import rules as engine_rules
from .models import GenerationImage, GenerationRequest
from .prompting import build_prompts

MAX_SEED = 2**32 - 1
# The engine's scheduler (personalization.engine.core.SCHEDULER_NAME; a test keeps them equal).
SCHEDULER_NAME = "DPMSolverMultistepScheduler (DPM++ 2M)"
Status = GenerationRequest.Status


class QuotaExceeded(Exception):
    def __init__(self, *, limit: int, retry_after: int):
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(f"Daily limit of {limit} designs reached. Try again in {retry_after // 3600 + 1} h.")


class InvalidTransition(Exception):
    """The request is not in a state that allows this action."""


# --- submitting -------------------------------------------------------------------------------


def _number(value, *, field: str, label: str, low: float, high: float, integer: bool, errors: dict):
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[field] = f"Enter a number for {label}."
        return None
    if not math.isfinite(number):
        errors[field] = f"{label.capitalize()} must be a finite number."
        return None
    if integer and number != int(number):
        errors[field] = f"{label.capitalize()} must be a whole number."
        return None
    if not low <= number <= high:
        shown = (int(low), int(high)) if integer else (low, high)
        errors[field] = f"{label.capitalize()} must be between {shown[0]} and {shown[1]}."
        return None
    return int(number) if integer else number


def _read_reference(upload) -> tuple[bytes, str]:
    """A customer's reference picture -> clean RGB PNG bytes and the hash of those bytes.

    Only PNG, JPEG and WebP, recognised by content and opened by their own Pillow plugin only
    (``brand_guides.uploads``: no other plugin, no Ghostscript, ever runs on an upload). The EXIF
    orientation is applied before re-encoding drops every piece of metadata, so a photo taken
    sideways is stored upright."""
    size = getattr(upload, "size", None)
    if size is not None and size > conf.REFERENCE_MAX_BYTES:
        limit = conf.REFERENCE_MAX_BYTES // 2**20
        raise ValidationError({"reference_image": f"The reference image is too large (max {limit} MB)."})
    try:
        with uploads.open_image(upload) as probe:
            if probe.width * probe.height > conf.REFERENCE_MAX_PIXELS:
                raise ValidationError({"reference_image": "The reference image has too many pixels."})
            probe.verify()
        with uploads.open_image(upload) as image:
            image.load()
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except ValidationError as exc:
        raise ValidationError({"reference_image": exc.messages[0]}) from None
    except Image.DecompressionBombError:
        raise ValidationError({"reference_image": "The reference image has too many pixels."}) from None
    except uploads.IMAGE_ERRORS:
        raise ValidationError({"reference_image": uploads.UNREADABLE}) from None
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


QUOTA_WINDOW_SECONDS = 24 * 3600  # one UTC day (limits aligns windows to the epoch)


def _quota_limits(*, customer, session_key: str, client_ip: str | None) -> list[limits.Limit]:
    """The daily quotas a request counts against: the account's; or, for an anonymous visitor, the
    visitor's and the client address's (a new cookie does not reset that one). 0 disables one."""
    daily = conf.DAILY_QUOTA
    per_ip = 3 * daily if conf.DAILY_QUOTA_PER_IP is None else conf.DAILY_QUOTA_PER_IP
    if customer is not None and customer.is_authenticated:
        subjects = [(f"user:{customer.pk}", daily)]
    else:
        subjects = [
            (f"visitor:{limits.subject_hash(session_key)}" if session_key else "", daily),
            (f"ip:{limits.subject_hash(client_ip)}" if client_ip else "", per_ip),
        ]
    return [
        limits.Limit(key=f"quota:{subject}", limit=limit, window=QUOTA_WINDOW_SECONDS)
        for subject, limit in subjects
        if subject and limit
    ]


def _check_quota(*, quota: list[limits.Limit]) -> None:
    """Refuse early (before anything is built) when a quota is already used up; takes nothing."""
    for limit in quota:
        retry_after = limits.exhausted(limit=limit)
        if retry_after is not None:
            raise QuotaExceeded(limit=limit.limit, retry_after=retry_after)


def _charge_quota(*, quota: list[limits.Limit]) -> list[dict]:
    """Take one unit of every quota or none (two parallel requests cannot both take the last one);
    returns the charges to store on the request, refunded if it fails for the shop's reasons."""
    outcome = limits.take_all(limits=quota)
    if not outcome.allowed:
        raise QuotaExceeded(limit=outcome.refused.limit, retry_after=outcome.retry_after)
    return [charge.as_json() for charge in outcome.charges]


# --- the engine's rules, checked at submit -------------------------------------------------------


def _fewest_steps(strength: float) -> int:
    """The fewest steps that leave img2img at least one denoising step at this strength."""
    steps = max(1, math.ceil(1 / strength))
    return steps if int(steps * strength) >= 1 else steps + 1


def _least_strength(steps: int) -> float:
    """The least strength (in hundredths) that leaves img2img at least one step at these steps."""
    hundredths = math.ceil(100 / steps)
    while int(steps * (hundredths / 100)) < 1:  # the engine's own arithmetic (rules.JOB_RULES)
        hundredths += 1
    return min(1.0, hundredths / 100)


def _img2img_steps_message(job) -> str:
    return (
        f"With a reference image, steps × strength must be at least 1 ({job.steps} × {job.strength:g} "
        f"leaves no step to run): use at least {_fewest_steps(job.strength)} steps, or a strength of "
        f"at least {_least_strength(job.steps):g}."
    )


# Every rule of personalization/engine/rules.py (JOB_RULES), as the request field it is about and the
# customer's message. A test checks there is one entry per rule and that each is caught here.
ENGINE_RULE_ERRORS = {
    "text": ("description", lambda job: "Describe your design in words."),
    "seeds_present": ("variations", lambda job: "Ask for at least one variation."),
    "seed_range": ("seed", lambda job: f"Seed must be a whole number between 0 and {MAX_SEED}."),
    "size": (
        "size",
        lambda job: (
            f"{job.width} px is not a size the generator can make: sizes are multiples of 8 "
            "from 64 to 2048 px."
        ),
    ),
    "steps": (
        "steps",
        lambda job: f"Steps must be between {engine_rules.MIN_STEPS} and {engine_rules.MAX_STEPS}.",
    ),
    "guidance": (
        "guidance_scale",
        lambda job: f"Guidance must be between {engine_rules.MIN_GUIDANCE} and {engine_rules.MAX_GUIDANCE}.",
    ),
    "strength": ("strength", lambda job: "Strength must be more than 0 and at most 1."),
    "img2img_steps": ("steps", _img2img_steps_message),
    "lora_file": (
        "product",
        lambda job: (
            "This product cannot be personalized right now (its brand's style file is missing). "
            "Please try again later."
        ),
    ),
}


def generation_job(
    *,
    product,
    description,
    seed: int,
    variations: int,
    steps: int,
    guidance_scale: float,
    size: int,
    strength: float,
    reference_png: bytes | None,
) -> engine_rules.Job:
    """The engine Job a request with these values becomes in the worker (worker.job_for), with the
    customer's description standing in for the built prompt and the brand's LoRA by storage name."""
    brand = getattr(product, "brand", None)
    lora = brand.lora_weights if brand is not None else None
    return engine_rules.Job(
        prompt=description,
        negative_prompt="",
        seeds=[seed + index for index in range(variations)],
        steps=steps,
        guidance_scale=guidance_scale,
        width=size,
        height=size,
        reference_image=(
            Image.open(io.BytesIO(reference_png), formats=["PNG"]) if reference_png is not None else None
        ),
        strength=strength,
        lora_path=lora.name if lora else None,
        lora_scale=brand.lora_scale if brand is not None else 1.0,
    )


def _engine_rule_errors(*, product, errors: dict, **values) -> dict[str, str]:
    """Field -> message for every engine rule these request values break (none already reported)."""
    job = generation_job(product=product, **values)
    brand = getattr(product, "brand", None)
    storage_has = brand.lora_weights.storage.exists if brand is not None else (lambda name: False)
    found: dict[str, str] = {}
    for rule in engine_rules.problems(job, file_exists=storage_has):
        if rule.name in ENGINE_RULE_ERRORS:
            field, message = ENGINE_RULE_ERRORS[rule.name]
            text = message(job)
        else:  # a rule added to the engine without its entry above: still refused, in its own words
            field, text = NON_FIELD_ERRORS, rule.explain(job)
        if field not in errors and field not in found:
            found[field] = text
    return found


def cache_key_for(req: GenerationRequest) -> str:
    parts = [
        str(conf.MODEL),
        req.optimized_prompt,
        req.negative_prompt,
        str(req.product_id),
        req.base_color_hex.lower(),
        str(req.material_id),
        str(req.brand_id),
        f"{req.steps}",
        f"{req.guidance_scale:.4f}",
        f"{req.width}x{req.height}",
        f"{req.seed}",
        f"{req.variations}",
        req.reference_sha256,
        f"{req.strength:.4f}" if req.reference_sha256 else "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def generation_request_create(
    *,
    product,
    base_color: str,
    description: str,
    style=None,
    material=None,
    reference_image=None,
    strength=None,
    steps=None,
    guidance_scale=None,
    seed=None,
    variations=1,
    size=None,
    customer=None,
    session_key: str = "",
    client_ip: str | None = None,
) -> GenerationRequest:
    """Validate, check policy, build the prompts and create the row.

    Raises ValidationError (field -> message) for bad input and QuotaExceeded past a daily quota
    (the account's; an anonymous visitor's and, with ``client_ip``, that address's).
    A policy violation creates the row with status "rejected" and nothing is queued. An identical
    earlier request (same model, prompts, parameters, seeds, reference) is answered from its images.
    """
    errors: dict[str, str] = {}
    if product is None or not getattr(product, "is_published", True):
        errors["product"] = "Choose a product from the catalogue."
    color = None
    if product is not None:
        wanted = (base_color or "").strip().casefold()
        color = next((c for c in product.base_colors.all() if c.name.casefold() == wanted), None)
        if color is None:
            names = ", ".join(c.name for c in product.base_colors.all())
            errors["base_color"] = f"Choose one of this product's colours: {names}."
        allowed = list(product.allowed_materials.all())
        if material is not None and allowed and material not in allowed:
            errors["material"] = f"{product.name} is not made in {material.name}."
        # A preset with a brand is that brand's own: offered for its products only.
        if material is not None and not preset_offered_for(material, brand_id=product.brand_id):
            errors["material"] = f"{product.name} is not made in {material.name}."
        if style is not None and not preset_offered_for(style, brand_id=product.brand_id):
            errors["style"] = f"The {style.name} style is not offered for {product.name}."
    steps = _number(
        conf.DEFAULT_STEPS if steps in (None, "") else steps,
        field="steps",
        label="steps",
        low=conf.MIN_STEPS,
        high=conf.MAX_STEPS,
        integer=True,
        errors=errors,
    )
    guidance_scale = _number(
        conf.DEFAULT_GUIDANCE if guidance_scale in (None, "") else guidance_scale,
        field="guidance_scale",
        label="guidance",
        low=conf.MIN_GUIDANCE,
        high=conf.MAX_GUIDANCE,
        integer=False,
        errors=errors,
    )
    variations = _number(
        1 if variations in (None, "") else variations,
        field="variations",
        label="variations",
        low=1,
        high=conf.MAX_VARIATIONS,
        integer=True,
        errors=errors,
    )
    if seed not in (None, ""):
        seed = _number(seed, field="seed", label="seed", low=0, high=MAX_SEED, integer=True, errors=errors)
    else:
        seed = secrets.randbelow(MAX_SEED + 1)
    size = conf.DEFAULT_SIZE if size in (None, "") else size
    sizes = tuple(conf.SIZES)
    size = _number(
        size, field="size", label="size", low=min(sizes), high=max(sizes), integer=True, errors=errors
    )
    if size is not None and size not in sizes:
        errors["size"] = f"Size must be one of {', '.join(map(str, sizes))}."
    strength = _number(
        conf.DEFAULT_STRENGTH if strength in (None, "") else strength,
        field="strength",
        label="strength",
        low=0.05,
        high=1.0,
        integer=False,
        errors=errors,
    )
    try:
        description = policy.validate_description(description or "", max_length=conf.DESCRIPTION_MAX_LENGTH)
    except policy.PolicyError as exc:
        errors["description"] = exc.message
    reference = None
    if reference_image:
        try:
            reference = _read_reference(reference_image)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if not errors.keys() & {"steps", "guidance_scale", "variations", "seed", "size", "strength"}:
        errors.update(
            _engine_rule_errors(
                product=product,
                description=description,
                seed=seed,
                variations=variations,
                steps=steps,
                guidance_scale=guidance_scale,
                size=size,
                strength=strength,
                reference_png=reference[0] if reference is not None else None,
                errors=errors,
            )
        )
    if errors:
        raise ValidationError(errors)

    quota = _quota_limits(customer=customer, session_key=session_key, client_ip=client_ip)
    _check_quota(quota=quota)

    brand = product.brand
    built = build_prompts(
        product=product_spec(product, base_color_name=color.name, base_color_hex=color.hex),
        description=description,
        style=style_spec(style),
        material=material_spec(material),
        brand=brand_spec(brand),
        token_counter=token_counter(),
    )
    req = GenerationRequest(
        customer=customer if customer is not None and customer.is_authenticated else None,
        session_key=session_key or "",
        product=product,
        brand=brand,
        base_color_name=color.name,
        base_color_hex=color.hex,
        material=material,
        style=style,
        description=description,
        strength=strength,
        steps=steps,
        guidance_scale=guidance_scale,
        seed=seed,
        variations=variations,
        width=size,
        height=size,
        model_name=str(conf.MODEL),
        scheduler_name=SCHEDULER_NAME,
        optimized_prompt=built.prompt,
        negative_prompt=built.negative_prompt,
        progress_total=steps,
    )
    if reference is not None:
        req.reference_sha256 = reference[1]

    # Only the customer's words are policed: merchant-written negatives ("nsfw", ...) must not
    # reject every request. A protected name with the "review" outcome holds the request instead.
    violations = policy.check_for_brand(brand=brand, texts={"description": description})
    refusals = [v for v in violations if v.outcome != "review"]
    holds = [v for v in violations if v.outcome == "review"]
    if refusals:
        req.status = Status.REJECTED
        req.error_code = refusals[0].code
        req.error_message = " ".join(dict.fromkeys(v.message for v in refusals))
        req.finished_at = timezone.now()
    req.cache_key = cache_key_for(req)

    with transaction.atomic():
        # Charged when accepted (queued, held, or answered from the cache); a policy rejection is free.
        req.quota_charges = _charge_quota(quota=quota) if req.status != Status.REJECTED else []
        if reference is not None:
            req.reference_image.save("reference.png", ContentFile(reference[0]), save=False)
        req.full_clean()
        req.save()
        if holds and req.status == Status.QUEUED:
            from .review import generation_hold_for_review

            generation_hold_for_review(
                request_id=req.pk, reason="\n".join(dict.fromkeys(v.message for v in holds))
            )
            req.refresh_from_db(fields=["review_state", "review_reason"])
        if req.status == Status.QUEUED and not _answer_from_cache(req):
            from .queue import enqueue_generation

            transaction.on_commit(lambda: enqueue_generation(req.pk))
    return req


def _answer_from_cache(req: GenerationRequest) -> bool:
    from .review import images_visible_q

    source = (
        GenerationRequest.objects.filter(cache_key=req.cache_key, status=Status.SUCCEEDED, cache_source=None)
        .filter(images_visible_q())  # never the images of a design still held for review
        .exclude(pk=req.pk)
        .order_by("created_at")
        .first()
    )
    if source is None or source.images.count() != req.variations:
        return False
    if conf.SAFETY_CHECK and not all(img.safety.get("checked") for img in source.images.all()):
        return False  # made while the output check was off: generate afresh, checked
    if _text_read_breaks_policy(source, brand=req.brand):
        return False  # the brand's lists changed since: its text would now be held or refused

    now = timezone.now()
    GenerationImage.objects.bulk_create(
        [
            GenerationImage(
                request=req,
                index=img.index,
                seed=img.seed,
                image=img.image.name,
                mockup=img.mockup.name,
                width=img.width,
                height=img.height,
                brand_consistency=img.brand_consistency,
                quality_flags=img.quality_flags,
                reseeded_from=img.reseeded_from,
                flagged=img.flagged,
                safety=img.safety,
                generation_seconds=0.0,
            )
            for img in source.images.all()
        ]
    )
    req.status = Status.SUCCEEDED
    req.cache_source = source
    req.progress_step = req.progress_total
    req.started_at = req.finished_at = now
    req.preview = source.preview.name
    req.save(
        update_fields=["status", "cache_source", "progress_step", "started_at", "finished_at", "preview"]
    )
    return True


def _text_read_breaks_policy(source: GenerationRequest, *, brand) -> bool:
    """Whether the text the output check read in the source's pictures breaks the brand's lists as
    they are now (an allow-list entry removed, a banned term or protected name added)."""
    from .safety import text_violations

    terms = policy.brand_lists(brand)
    return any(
        text_violations(img.safety.get("text") or [], min_score=conf.TEXT_MIN_SCORE, terms=terms)
        for img in source.images.all()
    )


# --- customer actions ---------------------------------------------------------------------------


def generation_request_cancel(*, generation: GenerationRequest) -> GenerationRequest:
    """Queued: cancelled at once. Running: the worker stops within one step and marks it cancelled."""
    now = timezone.now()
    updated = GenerationRequest.objects.filter(pk=generation.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED,
        finished_at=now,
        error_code="cancelled",
        error_message="Cancelled by the customer.",
    )
    if not updated:
        updated = GenerationRequest.objects.filter(pk=generation.pk, status=Status.RUNNING).update(
            cancel_requested=True
        )
    generation.refresh_from_db()
    if not updated:
        raise InvalidTransition(
            f"A {generation.get_status_display().lower()} design can no longer be cancelled."
        )
    return generation


def generation_request_rate(*, generation: GenerationRequest, rating) -> GenerationRequest:
    errors: dict[str, str] = {}
    value = _number(rating, field="rating", label="rating", low=1, high=5, integer=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    if generation.status != Status.SUCCEEDED:
        raise InvalidTransition("Only finished designs can be rated.")
    generation.rating = value
    generation.save(update_fields=["rating"])
    return generation


def generations_claim_for_user(*, user, session_key: str) -> int:
    """At login: the visitor's anonymous generations join the account's gallery."""
    if not session_key:
        return 0
    return GenerationRequest.objects.filter(customer=None, session_key=session_key).update(customer=user)


# --- orders -----------------------------------------------------------------------------------


def _copy_file(source, target, name: str) -> None:
    if not source:
        return
    with source.open("rb") as fh:
        target.save(name, ContentFile(fh.read()), save=False)


def _print_area_dict(product) -> dict:
    return {
        "width_mm": product.print_width_mm,
        "height_mm": product.print_height_mm,
        "dpi": product.print_dpi,
        "min_dpi": product.min_dpi,
        "safe_margin_mm": product.safe_margin_mm,
    }


def line_design_create(*, order_line, image: GenerationImage):
    """Freeze a chosen variation onto a placed order line: copies of the files and of every
    parameter needed to re-render it, so later edits of brands or products change nothing."""
    from .models import LineDesign
    from .review import order_refusal

    req = image.request
    if refusal := order_refusal(req):  # held for review after it went into a cart, or refused
        raise ValidationError({"design": refusal})
    design = LineDesign(
        order_line=order_line,
        customer=req.customer,
        session_key=req.session_key,
        brand=req.brand,
        source_image=image,
        description=req.description,
        optimized_prompt=req.optimized_prompt,
        negative_prompt=req.negative_prompt,
        seed=image.seed,
        steps=req.steps,
        guidance_scale=req.guidance_scale,
        width=image.width,
        height=image.height,
        strength=req.strength if req.reference_sha256 else None,
        model_name=req.model_name,
        scheduler_name=req.scheduler_name,
        brand_name=req.brand.name,
        brand_palette=[{"name": c.name, "hex": c.hex, "role": c.role} for c in req.brand.palette.all()],
        material_name=req.material.name if req.material else "",
        style_name=req.style.name if req.style else "",
        base_color_name=req.base_color_name,
        base_color_hex=req.base_color_hex,
        brand_consistency=image.brand_consistency,
        print_area=_print_area_dict(req.product),
    )
    _copy_file(image.image, design.image, "design.png")
    _copy_file(image.mockup, design.mockup, "mockup.png")
    _copy_file(req.reference_image, design.reference_image, "reference.png")
    design.full_clean()
    design.save()
    from .queue import enqueue_print_file

    transaction.on_commit(lambda: enqueue_print_file(design.pk))
    return design


def line_design_render_print_file(*, design_id: int):
    """Render (or re-render) the print-ready file of an ordered design: the print area's physical
    size at its DPI plus bleed, sRGB, DPI in the file; warnings stored (e.g. low effective DPI).
    Upscaled with Lanczos, or with the diffusers upscaler named by PRINT_UPSCALER (worker only)."""
    from .models import LineDesign
    from .printing import print_file
    from .specs import PrintAreaSpec
    from .storage import line_prefix, store_bytes

    design = LineDesign.objects.get(pk=design_id)
    area = design.print_area
    with design.image.open("rb") as fh:
        image = Image.open(fh, formats=["PNG"])  # written by the worker as PNG
        image.load()
    upscaler = None
    if conf.PRINT_UPSCALER:
        from .engine.upscale import diffusers_upscaler  # torch: only in the GPU worker

        upscaler = diffusers_upscaler(
            conf.PRINT_UPSCALER, device=conf.DEVICE, dtype=conf.DTYPE, steps=conf.PRINT_UPSCALER_STEPS
        )
    result = print_file(
        design=image.convert("RGB"),
        print_area=PrintAreaSpec(
            width_mm=area["width_mm"],
            height_mm=area["height_mm"],
            dpi=area["dpi"],
            safe_margin_mm=area.get("safe_margin_mm", 0),
            min_dpi=area.get("min_dpi", 150),
        ),
        bleed_mm=conf.PRINT_BLEED_MM,
        upscaler=upscaler,
    )
    design.print_file.name = store_bytes(f"{line_prefix(design.order_line_id)}/print.png", result.png_bytes)
    design.print_warnings = list(result.warnings)
    design.save(update_fields=["print_file", "print_warnings"])
    return design
