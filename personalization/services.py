"""Writes of the personalization plugin: the storefront, the REST API, the admin and the worker
all go through these functions, so every rule (limits, policy, quotas) is written once."""

import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image, ImageOps

from brand_guides import uploads
from brand_guides.models import Brand

from . import eta, limits, policy, presets
from .artwork import TextLayer
from .conditioning import brand_spec, material_spec, product_spec, style_spec, token_counter
from .conf import conf
from .hosts import host
from .lifecycle import REFUNDED_CODES, generation_cancel
from .models import GenerationImage, GenerationRequest
from .prompting import build_prompts
from .recipe import RecipeInvalid, parse_number
from .recipe import build as build_recipe
from .selectors import offers_preset, request_product_info

Status = GenerationRequest.Status


class QuotaExceeded(Exception):
    def __init__(self, *, limit: int, retry_after: int):
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(f"Daily limit of {limit} designs reached. Try again in {retry_after // 3600 + 1} h.")


class InvalidTransition(Exception):
    """The request is not in a state that allows this action."""


# --- submitting -------------------------------------------------------------------------------


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


def studio_prompts(*, info, color, description: str, style, material, brand, transparent_background=False):
    """The prompt and negative prompt the studio builds (``prompting.BuiltPrompts``) for a product
    (the host's ``ProductInfo``) in one of its base colours, with the preset rows and the brand."""
    return build_prompts(
        product=product_spec(info, base_color_name=color.name, base_color_hex=color.hex),
        description=description,
        style=style_spec(style),
        material=material_spec(material),
        brand=brand_spec(brand),
        token_counter=token_counter(),
        transparent_background=transparent_background,
    )


def _product_choice(*, product, base_color, material, style, errors: dict):
    """What the host adapter says of the chosen product (``ProductInfo``, asked once), the chosen
    base colour and the product's brand; an error under its field for whatever the product does not
    offer. (None, None, None) without a product."""
    if product is None:
        errors["product"] = "Choose a product from the catalogue."
        return None, None, None
    info = host().product_info(product)
    if not info.is_published:
        errors["product"] = "Choose a product from the catalogue."
    brand = Brand.objects.filter(pk=info.brand_id).first() if info.brand_id is not None else None
    if brand is None:
        errors.setdefault("product", f"{info.name} cannot be personalized: it belongs to no brand.")
    color = info.base_color(base_color)
    if color is None:
        names = ", ".join(c.name for c in info.base_colors)
        errors["base_color"] = f"Choose one of this product's colours: {names}."
    # A preset with a brand is that brand's own: offered for its products only.
    if material is not None and not offers_preset(info, material):
        errors["material"] = f"{info.name} is not made in {material.name}."
    if style is not None and not offers_preset(info, style):
        errors["style"] = f"The {style.name} style is not offered for {info.name}."
    return info, color, brand


def _print_aspect(info, *, errors: dict) -> float:
    """The print area's width / height, which the design's shape follows; 1.0 without a product
    (its error is reported already) or with a print area the host describes without a size."""
    if info is None:
        return 1.0
    area = info.print_area
    try:
        aspect = float(area.width_mm) / float(area.height_mm)
    except (TypeError, ValueError, ZeroDivisionError):
        aspect = math.nan
    if not math.isfinite(aspect) or aspect <= 0:
        errors.setdefault("product", f"{info.name} cannot be personalized: its print area has no size.")
        return 1.0
    return aspect


def generation_request_create(
    *,
    product,
    base_color: str,
    description: str,
    style=None,
    material=None,
    reference_image=None,
    reference_fit: str = "cover",
    transparent_background: bool = False,
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

    ``size`` is the pixel budget: the design is generated in the shape of the product's print area
    (``sizing.shaped_size``); a reference image is fitted to that shape by ``reference_fit``
    ("cover" or "contain"). ``transparent_background`` asks the prompt for a plain background, which
    the artwork composer cuts out.
    """
    errors: dict[str, str] = {}
    info, color, brand = _product_choice(
        product=product, base_color=base_color, material=material, style=style, errors=errors
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
    # The generation itself: validated once, against the product's model preset and the engine's rules.
    preset = presets.choose(
        product_preset=info.model_preset if info is not None else "",
        brand_preset=brand.model_preset if brand is not None else "",
    )
    lora = brand.lora_weights.name if brand is not None and brand.lora_weights else ""
    recipe = None
    try:
        recipe = build_recipe(
            preset=preset,
            prompt=description,
            seed=seed,
            variations=variations,
            steps=steps,
            guidance_scale=guidance_scale,
            size=size,
            aspect=_print_aspect(info, errors=errors),
            strength=strength,
            reference_png=reference[0] if reference is not None else None,
            reference_sha256=reference[1] if reference is not None else "",
            reference_fit=reference_fit or "cover",
            lora=lora,
            lora_scale=brand.lora_scale if lora else 1.0,
            lora_exists=brand.lora_weights.storage.exists if lora else None,
        )
    except RecipeInvalid as exc:
        for field, message in exc.errors.items():
            errors.setdefault(NON_FIELD_ERRORS if field == "__all__" else field, message)
    if errors:
        raise ValidationError(errors)

    quota = _quota_limits(customer=customer, session_key=session_key, client_ip=client_ip)
    _check_quota(quota=quota)

    built = studio_prompts(
        info=info,
        color=color,
        description=description,
        style=style,
        material=material,
        brand=brand,
        transparent_background=bool(transparent_background),
    )
    recipe = recipe.with_prompts(built.prompt, built.negative_prompt)
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
        # The row's columns are the recipe's (GenerationRequest.recipe reads them back).
        preset=recipe.preset,
        # Without a reference image the strength is unused: the column keeps the preset's default.
        strength=recipe.strength if recipe.strength is not None else preset.default_strength,
        steps=recipe.steps,
        guidance_scale=recipe.guidance_scale,
        seed=recipe.seed,
        variations=recipe.variations,
        width=recipe.width,
        height=recipe.height,
        model_name=recipe.model,
        scheduler_name=recipe.scheduler,
        optimized_prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt,
        reference_sha256=recipe.reference_sha256,
        # Without a reference image the fit is unused: the column keeps "cover".
        reference_fit=recipe.reference_fit,
        transparent_background=bool(transparent_background),
        progress_total=recipe.steps,
    )

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
        req.phase = GenerationRequest.Phase.NONE  # refused at submit: never queued
    # What else decides the stored pictures: the mockup's product, colour and material, the brand
    # and its guide's revision (brand_guides.services.DESIGN_FIELDS: an edited guide never gets a
    # design made under the old one), and a transparent background's cut-out (its prompt differs
    # too, except when no enrichment fits).
    req.cache_key = recipe.cache_key(
        str(req.product_id),
        req.base_color_hex.lower(),
        str(req.material_id),
        str(req.brand_id),
        f"brand-rev:{brand.revision}",
        *(["transparent_background"] if req.transparent_background else []),
    )

    with transaction.atomic():
        # Charged when accepted (queued, held, or answered from the cache); a policy rejection is free.
        req.quota_charges = _charge_quota(quota=quota) if req.status != Status.REJECTED else []
        if reference is not None:
            req.reference_image.save("reference.png", ContentFile(reference[0]), save=False)
        _save_new(req)
        if holds and req.status == Status.QUEUED:
            from .review import generation_hold_for_review

            generation_hold_for_review(
                request_id=req.pk, reason="\n".join(dict.fromkeys(v.message for v in holds))
            )
            req.refresh_from_db(fields=["review_state", "review_reason"])
        if req.status == Status.QUEUED and not _answer_from_cache(req):
            from .queue import enqueue_generation

            # The ETA the customer is shown now, kept to measure it against the real wait.
            req.eta_at_submit = eta.wait_for(req).eta_seconds
            GenerationRequest.objects.filter(pk=req.pk).update(eta_at_submit=req.eta_at_submit)
            transaction.on_commit(lambda: enqueue_generation(req.pk))
    return req


def _save_new(req: GenerationRequest) -> None:
    """Validate and insert a new request. Its check constraints (and the primary key's uniqueness)
    are left to the database: asking it first costs a query and a savepoint each, on every submit,
    for ranges the recipe has already enforced. Should the database refuse the row, Django's own
    validation of the constraints says why (a ValidationError, as ``full_clean`` would have raised)."""
    req.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: the outer transaction stays usable
            req.save(force_insert=True)
    except IntegrityError:
        req.validate_unique()
        req.validate_constraints()
        raise  # not one of the model's constraints: a real fault


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
    req.phase = GenerationRequest.Phase.NONE  # never waited for a worker
    req.save(
        update_fields=[
            "status",
            "cache_source",
            "progress_step",
            "started_at",
            "finished_at",
            "preview",
            "phase",
        ]
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
    """Queued: cancelled at once. Running: the worker stops within one step and marks it cancelled
    (``lifecycle.generation_cancel``). The caller has checked that the customer owns it."""
    updated = generation_cancel(request_id=generation.pk)
    generation.refresh_from_db()
    if not updated:
        raise InvalidTransition(
            f"A {generation.get_status_display().lower()} design can no longer be cancelled."
        )
    return generation


def generation_request_rate(*, generation: GenerationRequest, rating) -> GenerationRequest:
    value, message = parse_number(rating, label="rating", low=1, high=5, integer=True)
    if message:
        raise ValidationError({"rating": message})
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


# --- staff actions ------------------------------------------------------------------------------

# What a staff retry may put back in the queue: a failure on the shop's side (the quota was given
# back: out of GPU memory, a lost worker, ...) or a cancelled request.
RETRYABLE = Q(status=Status.FAILED, error_code__in=REFUNDED_CODES) | Q(status=Status.CANCELLED)


def _retry_refusal(generation: GenerationRequest) -> str:
    """Why this request is not retried: one sentence per kind of request (an admin message counts
    the requests left as they are by reason)."""
    if generation.status == Status.SUCCEEDED:
        return "A succeeded design is not made again (the customer can submit a new one)."
    if generation.status == Status.REJECTED:
        return "A design refused by the content policy or by a reviewer is not retried."
    if generation.status in (Status.QUEUED, Status.RUNNING):
        return "A queued or running design is being made already."
    return "A design that failed for a reason other than the shop's is not retried."


def generation_request_retry(*, generation: GenerationRequest) -> GenerationRequest:
    """Staff's retry: a request that failed for the shop's reasons (``lifecycle.REFUNDED_CODES``) or
    was cancelled goes back to "queued" on the same row (attempts, error, progress, times, lease,
    worker and the cancel flag reset) and is enqueued after the commit. It charges no quota: the
    request keeps the charges it was taken at submit (a refunded one stays refunded, and is never
    given back twice). A compare-and-set UPDATE: of two retries (or a retry racing anything else),
    one wins. Raises InvalidTransition with the reason for any other request."""
    from .queue import enqueue_generation

    with transaction.atomic():
        retried = GenerationRequest.objects.filter(RETRYABLE, pk=generation.pk).update(
            status=Status.QUEUED,
            attempts=0,
            error_code="",
            error_message="",
            progress_step=0,
            preview="",
            started_at=None,
            finished_at=None,
            lease_expires_at=None,
            worker="",
            cancel_requested=False,
            phase=GenerationRequest.Phase.QUEUED,
        )
        if retried:
            pk = generation.pk
            transaction.on_commit(lambda: enqueue_generation(pk))
    generation.refresh_from_db()
    if not retried:
        raise InvalidTransition(_retry_refusal(generation))
    return generation


# --- personalizing a chosen design: the customer's text or monogram ---------------------------


@dataclass(frozen=True)
class DesignPreview:
    """What the customer sees before adding a variation to the cart: the mockup with their text
    (PNG bytes), the preflight of that composition and the text layer as validated (None: no text)."""

    mockup_png: bytes
    preflight: dict
    text: TextLayer | None


def design_text_layer(*, image: GenerationImage, values: Mapping[str, Any]) -> TextLayer | None:
    """The customer's text for this variation, validated against its brand (fonts, palette, policy)
    and its product (length): None for no text. Raises ValidationError({key: [message]}) with the
    keys of ``text_layers.TEXT_FIELDS``."""
    from .text_layers import text_layer_from

    req = image.request
    return text_layer_from(values, brand=req.brand, info=request_product_info(req))


def text_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The text-layer values of a posted form (``_text_fields.html`` names them ``text``,
    ``text_kind``, ``text_font``, ...) under the keys of ``text_layers.TEXT_FIELDS``."""
    from .text_layers import TEXT_FIELDS

    names = {key: key if key == "text" else f"text_{key}" for key in TEXT_FIELDS}
    return {key: data.get(name) or "" for key, name in names.items()}


def text_layer_summary(text_layer: Mapping[str, Any] | None, *, brand=None, palette=None) -> str:
    """'Monogram “ABC” in Fredoka One, Navy' ("" for no text): the font's family from ``brand``'s
    typography (else the font's role), the colour's name from ``palette`` (dicts with name and hex,
    e.g. a frozen ``LineDesign.brand_palette``) or ``brand``'s palette (else its hex)."""
    if not text_layer or not text_layer.get("text"):
        return ""
    role, hex_value = text_layer.get("font", ""), str(text_layer.get("color_hex", "")).lower()
    family = ""
    if brand is not None:
        family = next((t.font_family for t in brand.typography.all() if t.role == role), "")
    if palette is None and brand is not None:
        palette = [{"name": c.name, "hex": c.hex} for c in brand.palette.all()]
    colour = next((c["name"] for c in palette or () if str(c["hex"]).lower() == hex_value), hex_value)
    kind = "Monogram" if text_layer.get("kind") == "monogram" else "Text"
    return f"{kind} “{text_layer['text']}” in {family or role.capitalize() or 'the brand font'}, {colour}"


def _stored_text_layer(image: GenerationImage, text_layer: Mapping[str, Any] | None) -> TextLayer | None:
    """A text layer kept since it was checked (a cart line's ``TextLayer.as_dict()``), checked again
    against the brand's policy, fonts and palette as they are now."""
    if not text_layer:
        return None
    try:
        stored = TextLayer.from_dict(dict(text_layer))
    except (TypeError, ValueError):
        raise ValidationError({"text": ["This text can no longer be printed: add it again."]}) from None
    if stored is None:
        return None
    values = stored.as_dict()
    values["color"] = values.pop("color_hex")
    return design_text_layer(image=image, values=values)


DESIGN_UNAVAILABLE = "This design's picture is no longer available: choose another variation."


def _open_design(image: GenerationImage) -> Image.Image:
    """The variation's picture; ValidationError({"design": ...}) when its file cannot be read."""
    try:
        with image.image.open("rb") as fh:
            design = Image.open(fh, formats=uploads.ALLOWED_FORMATS)  # our own PNG; no other Pillow plugin
            design.load()
    except OSError:  # missing from the storage (or damaged): the customer picks another
        raise ValidationError({"design": DESIGN_UNAVAILABLE}) from None
    return design.convert("RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _png_rgba(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def design_preview(*, image: GenerationImage, values: Mapping[str, Any]) -> DesignPreview:
    """The live preview of a variation with the customer's text: the mockup at its normal size and
    the preflight. Writes nothing. Raises ValidationError for bad text (see ``design_text_layer``)."""
    from .postprocess import render_mockup
    from .preflight import image_preflight

    layer = design_text_layer(image=image, values=values)
    mockup = render_mockup(_open_design(image), image.request, text=layer)
    return DesignPreview(mockup_png=_png(mockup), preflight=image_preflight(image, text=layer), text=layer)


# --- orders -----------------------------------------------------------------------------------


def _copy_file(source, target, name: str) -> None:
    if not source:
        return
    with source.open("rb") as fh:
        target.save(name, ContentFile(fh.read()), save=False)


def _print_area_dict(info) -> dict:
    """The product's print area as the host describes it now (``ProductInfo``), frozen as JSON."""
    return info.print_area.as_dict()


def _font_name(data: bytes) -> str:
    return "font.otf" if data[:4] == b"OTTO" else "font.ttf"  # CFF outlines start with "OTTO"


def line_design_create(*, order_line, image: GenerationImage, text_layer: Mapping[str, Any] | None = None):
    """Freeze a chosen variation onto a placed order line: copies of the files and of every
    parameter needed to re-render it, so later edits of brands or products change nothing.

    ``text_layer`` (a cart line's ``TextLayer.as_dict()``) is checked again against the brand as it
    is now, and frozen with what the artwork is composed of: the composition, the brand logo and the
    font file as they are now, the preflight the customer saw, and the mockup drawn from them. A design
    whose preflight is blocked (too few pixels, and the brand prints nothing below its minimum) or
    that may no longer be ordered raises ValidationError({"design": message})."""
    from .approval import initial_review
    from .conditioning import artwork_spec_for
    from .models import LineDesign
    from .postprocess import render_mockup
    from .preflight import image_preflight, preflight_refusal
    from .review import order_refusal

    req = image.request
    if refusal := order_refusal(req):  # held for review after it went into a cart, or refused
        raise ValidationError({"design": refusal})
    layer = _stored_text_layer(image, text_layer)
    preflight = image_preflight(image, text=layer)
    if refusal := preflight_refusal(preflight):
        raise ValidationError({"design": refusal})
    spec = artwork_spec_for(req, text=layer)
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
        preset=req.preset,
        # The chosen variation alone: its own seed (a re-seed's too), one variation.
        recipe=replace(req.recipe, seed=image.seed, variations=1).as_dict(),
        brand_name=req.brand.name,
        brand_palette=[{"name": c.name, "hex": c.hex, "role": c.role} for c in req.brand.palette.all()],
        material_name=req.material.name if req.material else "",
        style_name=req.style.name if req.style else "",
        base_color_name=req.base_color_name,
        base_color_hex=req.base_color_hex,
        brand_consistency=image.brand_consistency,
        print_area=_print_area_dict(request_product_info(req)),
        composition=spec.as_dict(),
        preflight=preflight,
        **initial_review(req.brand),
    )
    # The mockup is drawn again from the frozen spec, text or not: the print job composes from that
    # spec, so the line's mockup always shows what will print (the brand logo as it is now, too).
    picture = _open_design(image)  # ValidationError({"design": ...}) when its file is gone
    mockup = render_mockup(picture, req, text=layer, spec=spec)
    design.mockup.save("mockup.png", ContentFile(_png(mockup)), save=False)
    _copy_file(image.image, design.image, "design.png")
    _copy_file(req.reference_image, design.reference_image, "reference.png")
    if spec.logo is not None and spec.logo.image is not None:
        design.logo.save("logo.png", ContentFile(_png_rgba(spec.logo.image)), save=False)
    if spec.font:
        design.text_font.save(_font_name(spec.font), ContentFile(spec.font), save=False)
    from .print_queue import owed_fields
    from .queue import enqueue_print_file

    for field, value in owed_fields().items():  # owed: the sweeper wakes it if this wake-up is lost
        setattr(design, field, value)
    design.full_clean()
    design.save()
    transaction.on_commit(lambda: enqueue_print_file(design.pk))
    return design
