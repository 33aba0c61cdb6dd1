"""The storefront's personalization studio: thin views over services and selectors.

Pages and their htmx fragments share templates: a template extends ``personalization/base.html``
(the one template a host overrides) for a full page and ``personalization/_fragment.html`` when
``request.htmx`` asks for just the part it swaps.
"""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, reswap, retarget

from . import limits
from .forms import PRESET_FIELDS, StudioForm
from .models import GenerationRequest
from .review import images_visible
from .selectors import (
    attach_product_infos,
    eta_seconds,
    generations_for,
    queue_position,
    request_product_info,
)
from .services import (
    InvalidTransition,
    QuotaExceeded,
    generation_request_cancel,
    generation_request_create,
    generation_request_rate,
)
from .templatetags.personalization_tags import wait_words
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


def _submit_throttled(request) -> int | None:
    """Take one unit of the submit limits the API has too (its rates; per account or visitor, and
    per client address): None when allowed, else the seconds to wait."""
    outcome = limits.take_all(
        limits=limits.generation_submit_limits(
            user=request.user, visitor=visitor_key(request), address=client_ip(request)
        )
    )
    return None if outcome.allowed else outcome.retry_after


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
    return {
        "base_template": _base(request),
        "generation": generation,
        "position": queue_position(generation),
        "eta": eta_seconds(generation),
        # Held for review (or refused after it): neither images nor preview until staff approve.
        "held": not images_visible(generation),
        "images": list(generation.images.all())
        if generation.status == generation.Status.SUCCEEDED and images_visible(generation)
        else [],
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
        "size": generation.width,
        "variations": generation.variations,
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
    return _job_response(request, _own_generation(request, pk))


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
        "strength": source.strength,
        "steps": source.steps,
        "guidance_scale": source.guidance_scale,
        "seed": None,
        "variations": source.variations,
        "size": source.width,
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
