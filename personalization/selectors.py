"""Reads of the personalization plugin (shared by storefront, API, admin and reports)."""

from django.db.models import Avg, F, QuerySet

from .models import GenerationRequest

Status = GenerationRequest.Status
DEFAULT_SECONDS_PER_STEP = 0.25


def generations_for(*, user=None, session_key: str | None = None) -> QuerySet[GenerationRequest]:
    """The caller's own generations, newest first (account and this browser session)."""
    return (
        GenerationRequest.objects.owned_by(user=user, session_key=session_key)
        .select_related("product", "brand", "material", "style")
        .prefetch_related("images")
        .order_by("-created_at")
    )


def queue_position(generation: GenerationRequest) -> int:
    """1 for the next request to run; 0 when not queued."""
    if generation.status != Status.QUEUED:
        return 0
    ahead = GenerationRequest.objects.filter(
        status=Status.QUEUED, created_at__lt=generation.created_at
    ).count()
    return ahead + 1


def seconds_per_step() -> float:
    """Recent measured speed: wall seconds per denoising step of one image, from finished rows."""
    recent = (
        GenerationRequest.objects.filter(
            status=Status.SUCCEEDED, cache_source=None, started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("pk", flat=True)[:20]
    )
    row = (
        GenerationRequest.objects.filter(pk__in=list(recent))
        .annotate(run_time=F("finished_at") - F("started_at"), work=F("steps") * F("variations"))
        .aggregate(avg_run_time=Avg("run_time"), avg_work=Avg("work"))
    )
    if not row["avg_run_time"] or not row["avg_work"]:
        return DEFAULT_SECONDS_PER_STEP
    duration = row["avg_run_time"]
    seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration) / 1e6
    return max(0.001, seconds / row["avg_work"])


def eta_seconds(generation: GenerationRequest) -> float | None:
    """Estimated seconds until the request is done; None once it is terminal."""
    if generation.is_terminal:
        return None
    per_step = seconds_per_step()
    remaining = (generation.steps - generation.progress_step) * generation.variations
    if generation.status == Status.RUNNING:
        return round(remaining * per_step, 1)
    ahead = GenerationRequest.objects.filter(
        status__in=[Status.QUEUED, Status.RUNNING], created_at__lt=generation.created_at
    )
    work_ahead = sum(
        (r.steps - r.progress_step) * r.variations for r in ahead.only("steps", "progress_step", "variations")
    )
    return round((work_ahead + remaining) * per_step, 1)


def category_report(*, since=None, until=None, requests=None) -> list[dict]:
    """The paper's Table 2 from stored requests, one row per product category: requests, average
    generation time (s, succeeded and not answered from cache), average brand consistency (0-100,
    over generated images) and average customer rating (1-5). Rows sorted by category name.
    ``requests``: the rows to count (default all; the admin passes a shop owner's brands' rows)."""
    from django.db.models import Count, DurationField, ExpressionWrapper, Q

    from .models import GenerationImage

    requests = GenerationRequest.objects.all() if requests is None else requests
    if since is not None:
        requests = requests.filter(created_at__gte=since)
    if until is not None:
        requests = requests.filter(created_at__lt=until)
    key = "product__category__name"
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    timed = Q(status=Status.SUCCEEDED, cache_source=None, started_at__isnull=False, finished_at__isnull=False)
    rows = {
        row[key]: row
        for row in requests.values(key).annotate(
            requests=Count("pk"),
            succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
            rejected=Count("pk", filter=Q(status=Status.REJECTED)),
            avg_duration=Avg(duration, filter=timed),
            avg_rating=Avg("rating"),
            ratings=Count("rating"),
        )
    }
    scores = {
        row["request__" + key]: row["avg"]
        for row in GenerationImage.objects.filter(request__in=requests, brand_consistency__isnull=False)
        .values("request__" + key)
        .annotate(avg=Avg("brand_consistency"))
    }
    report = []
    for category in sorted(rows, key=lambda c: c or ""):
        row = rows[category]
        seconds = row["avg_duration"]
        if seconds is not None and hasattr(seconds, "total_seconds"):
            seconds = seconds.total_seconds()
        elif seconds is not None:
            seconds = float(seconds) / 1e6
        report.append(
            {
                "category": category or "(none)",
                "requests": row["requests"],
                "succeeded": row["succeeded"],
                "rejected": row["rejected"],
                "avg_generation_seconds": None if seconds is None else round(seconds, 2),
                "avg_brand_consistency": None if scores.get(category) is None else round(scores[category], 1),
                "avg_rating": None if row["avg_rating"] is None else round(row["avg_rating"], 2),
                "ratings": row["ratings"],
            }
        )
    return report
