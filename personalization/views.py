"""The storefront's personalization studio: thin views over services and selectors.

Pages and their htmx fragments share templates: a template extends ``personalization/base.html``
(the one template a host overrides) for a full page and ``personalization/_fragment.html`` when
``request.htmx`` asks for just the part it swaps.
"""

import base64

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, reswap, retarget

from . import eta, limits
from .forms import PRESET_FIELDS, StudioForm
from .models import GenerationImage, GenerationRequest
from .review import images_visible, images_visible_q
from .selectors import (
    attach_product_infos,
    generations_for,
    generations_polled,
    request_product_info,
)
from .services import (
    InvalidTransition,
    QuotaExceeded,
    design_preview,
    generation_request_cancel,
    generation_request_create,
    generation_request_rate,
    text_form_values,
)
from .templatetags.personalization_tags import wait_words
from .text_layers import TEXT_FIELDS, text_options
from .visitors import client_ip, visitor_key

GALLERY_PAGE_SIZE = 24


def _base(request) -> str:
    """The template a page extends: the plugin's base (which a host overrides) for a full page,
    just the ``content`` block for an htmx request."""
    return "personalization/_fragment.html" if request.htmx else "personalization/base.html"


def _own_generations(request):
    return generations_for(user=request.user, session_key=visitor_key(request))


def _own_generation(request, pk) -> GenerationRequest:
    return get_object_or_404(_own_generations(request), pk=pk)


def _owner(request) -> dict:
    return {"customer": request.user, "session_key": visitor_key(request), "client_ip": client_ip(request)}


def _throttled(request, which) -> int | None:
    """Take one unit of ``which(user=, visitor=, address=)``'s limits (the API counts the same
    windows): None when allowed, else the seconds to wait."""
    outcome = limits.take_all(
        limits=which(user=request.user, visitor=visitor_key(request), address=client_ip(request))
    )
    return None if outcome.allowed else outcome.retry_after


def _submit_throttled(request) -> int | None:
    """The submit limits: per account or visitor, and per client address."""
    return _throttled(request, limits.generation_submit_limits)


def _throttled_response(request, retry_after: int) -> HttpResponse:
    """429 with a card saying when to try again: put at the top of the form for htmx (the form's
    next submit removes it; what was typed stays), a full page otherwise."""
    context = {"base_template": _base(request), "retry_after": retry_after}
    response = render(request, "personalization/throttled.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    if request.htmx:
        response = reswap(retarget(response, "#studio-form"), "afterbegin")
    return response


def _job_context(request, generation: GenerationRequest) -> dict:
    images = (
        list(generation.images.all())
        if generation.status == generation.Status.SUCCEEDED and images_visible(generation)
        else []
    )
    return {
        "base_template": _base(request),
        "generation": generation,
        "position": (wait := eta.wait_for(generation)).position,
        "eta": wait.eta_seconds,
        "poll_seconds": eta.poll_after_seconds(generation, wait),
        # Held for review (or refused after it): neither images nor preview until staff approve.
        "held": not images_visible(generation),
        "images": images,
        # What the customer may set on a text layer (_text_fields.html, inside the host's cart form).
        "text_options": text_options(generation.brand, request_product_info(generation)) if images else None,
    }


def _job_response(request, generation: GenerationRequest, *, status: int | None = None) -> HttpResponse:
    """The job card: the full page, or the fragment for htmx. A poll (GET by htmx) of a finished
    job answers 286 (HTMX_STOP_POLLING) with a card that no longer carries the trigger."""
    if status is None:
        polled = request.htmx and request.method == "GET"
        status = HTMX_STOP_POLLING if polled and generation.is_terminal else 200
    return render(request, "personalization/job.html", _job_context(request, generation), status=status)


def _initial_from(generation: GenerationRequest) -> dict:
    return {
        "product": request_product_info(generation).slug,
        "base_color": generation.base_color_name,
        "description": generation.description,
        "style": generation.style.slug if generation.style else "",
        "material": generation.material.slug if generation.material else "",
        "strength": generation.strength,
        "steps": generation.steps,
        "guidance_scale": generation.guidance_scale,
        "seed": generation.seed,
        "size": generation.pixel_budget,
        "variations": generation.variations,
        "reference_fit": generation.reference_fit,
        "transparent_background": generation.transparent_background,
    }


def studio(request):
    """GET: the empty form (``?product=<slug>`` preselects, ``?edit=<uuid>`` prefills one's own
    earlier request). POST: create a generation request and answer with its job card."""
    if request.method == "POST":
        return _studio_submit(request)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    initial = {}
    edited = None
    if request.GET.get("edit"):
        try:
            edited = _own_generation(request, request.GET["edit"])
        except ValidationError:
            raise Http404 from None
        initial = _initial_from(edited)
    elif request.GET.get("product"):
        initial = {"product": request.GET["product"]}
    form = StudioForm(initial=initial)
    if form.chosen_product is None:
        form.initial.pop("product", None)
    return render(request, "personalization/studio.html", {"form": form, "edited": edited})


def _studio_submit(request) -> HttpResponse:
    retry_after = _submit_throttled(request)
    if retry_after is not None:
        return _throttled_response(request, retry_after)
    form = StudioForm(request.POST, request.FILES)
    status, retry_after = 422, None
    if form.is_valid():
        try:
            generation = generation_request_create(**form.service_kwargs(), **_owner(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        except QuotaExceeded as exc:
            form.add_error(None, str(exc))
            status, retry_after = 429, exc.retry_after
        else:
            if not request.htmx:
                return redirect("personalization:job", pk=generation.pk)
            return _job_response(request, generation, status=201 if not generation.is_terminal else 200)
    context = {"form": form}
    template = "personalization/_studio_form.html" if request.htmx else "personalization/studio.html"
    response = render(request, template, context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    if request.htmx:
        response = reswap(retarget(response, "#studio-form"), "outerHTML")
    return response


@require_GET
def product_fields(request):
    """The fields that follow the product, for hx-get on product change: base colour, material and
    style (swapped in place) and the model preset's sliders (``#preset-fields``, swapped out of
    band). The sliders keep the customer's values when the new product has the same preset
    (``current_preset``, sent with them), else they start at the new preset's defaults."""
    form = StudioForm(initial={"product": request.GET.get("product", "")})
    if request.GET.get("current_preset") == form.preset.name:
        form.initial.update({name: request.GET[name] for name in PRESET_FIELDS if request.GET.get(name)})
    context = {"form": form, "preset_swap": True}
    return render(request, "personalization/_product_fields.html", context)


@require_GET
def job(request, pk):
    polled = generations_polled(user=request.user, session_key=visitor_key(request))
    return _job_response(request, get_object_or_404(polled, pk=pk))


@require_POST
def job_cancel(request, pk):
    generation = _own_generation(request, pk)
    try:
        generation = generation_request_cancel(generation=generation)
    except InvalidTransition as exc:
        if not request.htmx:
            return redirect("personalization:job", pk=generation.pk)
        context = _job_context(request, generation) | {"notice": str(exc)}
        return render(request, "personalization/job.html", context, status=409)
    if not request.htmx:
        return redirect("personalization:job", pk=generation.pk)
    return _job_response(request, generation)


@require_POST
def job_vary(request, pk):
    """Same words and settings, a new random seed: the same service as a fresh Generate."""
    source = _own_generation(request, pk)
    retry_after = _submit_throttled(request)
    if retry_after is not None:
        notice = f"That's a lot of designs in a short time. Please wait {wait_words(retry_after)}."
        context = _job_context(request, source) | {"notice": notice}
        response = render(request, "personalization/job.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    kwargs = {
        "product": source.product,
        "base_color": source.base_color_name,
        "description": source.description,
        "style": source.style,
        "material": source.material,
        "reference_image": source.reference_image or None,
        "reference_fit": source.reference_fit,
        "transparent_background": source.transparent_background,
        "strength": source.strength,
        "steps": source.steps,
        "guidance_scale": source.guidance_scale,
        "seed": None,
        "variations": source.variations,
        "size": source.pixel_budget,
    }
    try:
        generation = generation_request_create(**kwargs, **_owner(request))
    except (ValidationError, QuotaExceeded) as exc:
        message = str(exc) if isinstance(exc, QuotaExceeded) else " ".join(exc.messages)
        context = _job_context(request, source) | {"notice": message}
        response = render(
            request,
            "personalization/job.html",
            context,
            status=429 if isinstance(exc, QuotaExceeded) else 422,
        )
        if isinstance(exc, QuotaExceeded):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if not request.htmx:
        return redirect("personalization:job", pk=generation.pk)
    return _job_response(request, generation, status=201 if not generation.is_terminal else 200)


@require_POST
def job_rate(request, pk):
    generation = _own_generation(request, pk)
    notice = ""
    status = 200
    try:
        generation = generation_request_rate(generation=generation, rating=request.POST.get("rating"))
    except ValidationError as exc:
        notice, status = " ".join(exc.messages), 422
    except InvalidTransition as exc:
        notice, status = str(exc), 409
    if not request.htmx:
        return redirect("personalization:job", pk=generation.pk)
    return render(
        request, "personalization/_rating.html", {"generation": generation, "notice": notice}, status=status
    )


@require_GET
def gallery(request):
    page = Paginator(_own_generations(request), GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = attach_product_infos(page.object_list)  # the host is asked once per page
    return render(request, "personalization/gallery.html", {"page": page})


def _own_image(request, pk) -> GenerationImage:
    """One variation of one's own succeeded design that one may see (404 otherwise)."""
    visible = GenerationImage.objects.filter(images_visible_q("request__")).select_related(
        "request__brand", "request__product", "request__material"
    )
    return get_object_or_404(
        visible,
        pk=pk,
        request__in=_own_generations(request),
        request__status=GenerationRequest.Status.SUCCEEDED,
    )


@require_POST
def image_preview(request, pk):
    """The live preview of the customer's text on a variation (hx-post from ``_text_fields.html``
    while they type): the mockup with the text and its print check; 422 with each message beside
    its field (swapped out of band; an empty one clears it) when the text cannot be printed."""
    image = _own_image(request, pk)
    if (retry_after := _throttled(request, limits.design_preview_limits)) is not None:
        response = render(
            request, "personalization/_text_preview_throttled.html", {"retry_after": retry_after}, status=429
        )
        response["Retry-After"] = str(retry_after)
        return response
    errors: dict[str, list[str]] = {}
    preview = None
    try:
        preview = design_preview(image=image, values=text_form_values(request.POST))
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"text": exc.messages}
    context = {
        "image": image,
        "preview": preview,
        "field_errors": [(key, " ".join(errors.get(key, []))) for key in TEXT_FIELDS],
        "other_errors": [m for key, messages in errors.items() if key not in TEXT_FIELDS for m in messages],
    }
    if preview is not None:
        encoded = base64.b64encode(preview.mockup_png).decode("ascii")
        context["mockup_src"] = f"data:image/png;base64,{encoded}"
    return render(request, "personalization/_text_preview.html", context, status=422 if errors else 200)
