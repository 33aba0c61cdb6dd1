"""Reads of the personalization plugin (shared by storefront, API, admin and reports)."""

from django.db.models import F, QuerySet

from brand_guides.models import MaterialPreset, StylePreset
from brand_guides.selectors import material_presets_for, preset_offered_for, style_presets_for

from .hosts import ProductInfo, host
from .models import GenerationRequest

Status = GenerationRequest.Status


# --- the host's products ------------------------------------------------------------------------


def request_product_info(generation: GenerationRequest) -> ProductInfo:
    """The host adapter's description of a request's product, asked once per request object (the
    worker renders several mockups of one request; a template shows its product name many times)."""
    info = getattr(generation, "_product_info", None)
    if info is None or info.pk != generation.product_id:
        info = generation._product_info = host().product_info(generation.product)
    return info


def attach_product_infos(generations) -> list[GenerationRequest]:
    """The generations as a list, each with its product's description attached (one
    ``product_infos`` call for the distinct products, so a gallery page asks the host once)."""
    generations = list(generations)
    products = {g.product_id: g.product for g in generations}
    infos = {info.pk: info for info in host().product_infos(list(products.values()))}
    for generation in generations:
        generation._product_info = infos[generation.product_id]
    return generations


def offered_presets(info: ProductInfo) -> tuple[QuerySet[MaterialPreset], QuerySet[StylePreset]]:
    """The material and style presets a product offers: the shared ones and its brand's own,
    narrowed to the product's own list (``info.material_ids`` / ``style_ids``) when it has one."""
    materials = material_presets_for(brand_id=info.brand_id)
    styles = style_presets_for(brand_id=info.brand_id)
    return (
        materials.filter(pk__in=info.material_ids) if info.material_ids else materials,
        styles.filter(pk__in=info.style_ids) if info.style_ids else styles,
    )


def offers_preset(info: ProductInfo, preset: MaterialPreset | StylePreset) -> bool:
    """Whether ``preset`` is among ``offered_presets(info)``, without a query."""
    ids = info.material_ids if isinstance(preset, MaterialPreset) else info.style_ids
    return (not ids or preset.pk in ids) and preset_offered_for(preset, brand_id=info.brand_id)


def product_infos_by_pk(product_ids) -> dict:
    """pk -> ProductInfo of the host's products with these keys, published or not (reports)."""
    model = GenerationRequest._meta.get_field("product").related_model
    rows = model._default_manager.filter(pk__in=list(product_ids))
    return {info.pk: info for info in host().product_infos(rows)}


def generations_for(*, user=None, session_key: str | None = None) -> QuerySet[GenerationRequest]:
    """The caller's own generations, newest first (account and this browser session)."""
    return (
        GenerationRequest.objects.owned_by(user=user, session_key=session_key)
        .select_related("product", "brand", "material", "style")
        .prefetch_related("images")
        .order_by("-created_at")
    )


def generations_polled(*, user=None, session_key: str | None = None) -> QuerySet[GenerationRequest]:
    """The caller's own generations as one status poll reads one of them (the job card, the API
    detail): with the product and brand joined, nothing prefetched. The style and material
    (most requests have neither) are read only when set: two more joins cost the database more to
    plan than the row costs to fetch, on every poll of every waiting customer."""
    return GenerationRequest.objects.owned_by(user=user, session_key=session_key).select_related(
        "product", "brand"
    )


def category_report(*, since=None, until=None, requests=None) -> list[dict]:
    """The paper's Table 2 from stored requests, one row per product category: requests, average
    generation time (s, succeeded and not answered from cache), average brand consistency (0-100,
    over generated images), average customer rating (1-5) and the rejection rate: the percent of the
    category's requests whose status is ``rejected`` (refused by the content policy at submit,
    by the output safety or text check, or held and then rejected in review), out of all its
    requests whatever their status (queued, running and cancelled ones included). Rows sorted by
    category name; ``since`` inclusive, ``until`` exclusive (``created_at``).
    ``requests``: the rows to count (default all; the admin passes a shop owner's brands' rows).
    The category of each product is the host adapter's (``ProductInfo.category_name``): sums are
    taken per product in the database and added up per category here."""
    from django.db.models import Count, DurationField, ExpressionWrapper, Q, Sum

    from .models import GenerationImage

    requests = GenerationRequest.objects.all() if requests is None else requests
    if since is not None:
        requests = requests.filter(created_at__gte=since)
    if until is not None:
        requests = requests.filter(created_at__lt=until)
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    timed = Q(status=Status.SUCCEEDED, cache_source=None, started_at__isnull=False, finished_at__isnull=False)
    per_product = list(
        requests.order_by()
        .values("product")
        .annotate(
            requests=Count("pk"),
            succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
            rejected=Count("pk", filter=Q(status=Status.REJECTED)),
            duration_sum=Sum(duration, filter=timed),
            timed=Count("pk", filter=timed),
            rating_sum=Sum("rating"),
            ratings=Count("rating"),
        )
    )
    score_rows = (
        GenerationImage.objects.filter(request__in=requests, brand_consistency__isnull=False)
        .order_by()
        .values("request__product")
        .annotate(total=Sum("brand_consistency"), count=Count("pk"))
    )
    infos = product_infos_by_pk(row["product"] for row in per_product)

    def category_of(product_id) -> str:
        info = infos.get(product_id)
        return info.category_name if info is not None and info.category_name else ""

    names = ("requests", "succeeded", "rejected", "timed", "rating_sum", "ratings")
    rows: dict[str, dict] = {}
    for row in per_product:
        total = rows.setdefault(category_of(row["product"]), dict.fromkeys(names, 0) | {"seconds": 0.0})
        for name in names:
            total[name] += row[name] or 0
        total["seconds"] += _seconds(row["duration_sum"]) or 0.0
    scores: dict[str, list[float]] = {}
    for row in score_rows:
        pair = scores.setdefault(category_of(row["request__product"]), [0.0, 0])
        pair[0] += row["total"]
        pair[1] += row["count"]

    report = []
    for category in sorted(rows):
        row = rows[category]
        score = scores.get(category)
        report.append(
            {
                "category": category or "(none)",
                "requests": row["requests"],
                "succeeded": row["succeeded"],
                "rejected": row["rejected"],
                "avg_generation_seconds": round(row["seconds"] / row["timed"], 2) if row["timed"] else None,
                "avg_brand_consistency": round(score[0] / score[1], 1) if score and score[1] else None,
                "avg_rating": round(row["rating_sum"] / row["ratings"], 2) if row["ratings"] else None,
                "ratings": row["ratings"],
                "rejection_rate": round(100 * row["rejected"] / row["requests"], 1),
            }
        )
    return report


def _seconds(duration) -> float | None:
    """A database duration (timedelta, or microseconds on backends without a duration type)."""
    if duration is None:
        return None
    return duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration) / 1e6


def preset_for_product(product, *, info=None):
    """The model preset (``presets.Preset``) a product is generated with: the product's own choice
    (the host adapter's ``ProductInfo.model_preset``), else its brand's ``model_preset``, else
    ``DEFAULT_PRESET``. ``info``: the product's ProductInfo when the caller has it already."""
    from brand_guides.models import Brand

    from . import presets
    from .hosts import product_info

    if product is None:
        return presets.choose()
    info = info if info is not None else product_info(product)
    brand_preset = ""
    if info.brand_id is not None:
        brand_preset = (
            Brand.objects.filter(pk=info.brand_id).values_list("model_preset", flat=True).first() or ""
        )
    return presets.choose(product_preset=info.model_preset, brand_preset=brand_preset)
