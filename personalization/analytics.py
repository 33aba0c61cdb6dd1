"""The figures of the admin dashboard and ``personalization_report`` (docs/DASHBOARD.md): the paper's
Table 2 per product category, the queue over time, failures and rejections by reason, the result
cache, the shop's review of ordered designs, and the cost per design (the paper's Table 4).

Pure reads of stored rows, aggregated in the database (GROUP BY): the number of queries does not
depend on the number of rows. Each figure covers a ``Period`` and optionally one brand, within the
``requests`` (generation requests) and ``designs`` (ordered designs) the caller may see: the admin
passes its brand-scoped querysets, the command everything."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, Count, DateTimeField, F, Q, QuerySet, Sum, When
from django.db.models.functions import Greatest, Trunc
from django.utils import timezone

from .conf import conf
from .models import GenerationImage, GenerationRequest, LineDesign
from .selectors import category_report, product_infos_by_pk

Status = GenerationRequest.Status
DesignState = LineDesign.ReviewState

# Periods up to two days are drawn hour by hour, longer ones day by day.
HOURLY_UP_TO = timedelta(days=2)
SECONDS_PER_HOUR = Decimal(3600)


# --- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``since`` (inclusive) to ``until`` (exclusive), both aware datetimes."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError("The period must end after it starts.")

    @property
    def bucket(self) -> str:
        """The timeline's step: "hour" for periods up to two days, else "day"."""
        return "hour" if self.until - self.since <= HOURLY_UP_TO else "day"

    def bucket_starts(self) -> list[datetime]:
        """The start of every bucket that overlaps the period, in the current time zone (a day
        bucket starts at local midnight)."""
        local = timezone.localtime(self.since)
        if self.bucket == "hour":  # stepped in UTC: a day that changes the clocks has 23 or 25 hours
            start, starts = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC), []
            while start < self.until:
                starts.append(timezone.localtime(start))
                start += timedelta(hours=1)
            return starts
        tz, day, starts = timezone.get_current_timezone(), local.date(), []
        while (start := datetime.combine(day, time.min, tzinfo=tz)) < self.until:
            starts.append(start)
            day += timedelta(days=1)
        return starts


def period_for_dates(
    *, since: date | None = None, until: date | None = None, days: int = 30, today: date | None = None
) -> Period:
    """Whole days in the current time zone, ``since`` and ``until`` both INCLUSIVE (one day:
    ``since == until``). No ``until``: today; no ``since``: the ``days`` days ending with ``until``.
    ValueError when ``since`` is after ``until``."""
    until = until or today or timezone.localdate()
    since = since or until - timedelta(days=days - 1)
    if since > until:
        raise ValueError("The start date is after the end date.")
    tz = timezone.get_current_timezone()
    return Period(
        since=datetime.combine(since, time.min, tzinfo=tz),
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz),
    )


def first_request_date(*, requests: QuerySet | None = None) -> date | None:
    """The local date of the earliest request (a report "since the beginning"); None when none."""
    rows = GenerationRequest.objects.all() if requests is None else requests
    first = rows.order_by("created_at").values_list("created_at", flat=True).first()
    return timezone.localtime(first).date() if first else None


def brand_requests(*, brand=None, requests: QuerySet | None = None) -> QuerySet:
    """``requests`` (default: all) of ``brand`` when one is given."""
    rows = GenerationRequest.objects.all() if requests is None else requests
    return rows if brand is None else rows.filter(brand=brand)


def period_requests(*, period: Period, brand=None, requests: QuerySet | None = None) -> QuerySet:
    """The requests submitted in the period (``created_at``), of ``brand`` when one is given."""
    return brand_requests(brand=brand, requests=requests).filter(
        created_at__gte=period.since, created_at__lt=period.until
    )


def period_designs(*, period: Period, brand=None, designs: QuerySet | None = None) -> QuerySet:
    """The ordered designs (``LineDesign``) frozen at checkout in the period, of ``brand`` if given."""
    rows = LineDesign.objects.all() if designs is None else designs
    if brand is not None:
        rows = rows.filter(brand=brand)
    return rows.filter(created_at__gte=period.since, created_at__lt=period.until)


# --- Table 2 ------------------------------------------------------------------------------------


def category_table(*, period: Period, brand=None, requests: QuerySet | None = None) -> list[dict]:
    """The paper's Table 2 for the period: ``selectors.category_report`` (requests, succeeded,
    rejected, average generation time, brand consistency, rating, rejection rate) per category."""
    return category_report(
        since=period.since, until=period.until, requests=brand_requests(brand=brand, requests=requests)
    )


# --- the queue over time ------------------------------------------------------------------------

# When a request stopped waiting: when a worker started it, else when it ended without starting
# (rejected at submit, cancelled while queued); NULL while it still waits. Never before it was
# created (a request refused at submit gets its finish time a moment before its row is saved).
LEFT_QUEUE = Case(
    When(started_at__isnull=False, then=Greatest(F("created_at"), F("started_at"))),
    When(finished_at__isnull=False, then=Greatest(F("created_at"), F("finished_at"))),
    default=None,
    output_field=DateTimeField(),
)


def timeline(*, period: Period, brand=None, requests: QuerySet | None = None, now=None) -> list[dict]:
    """One point per bucket (``Period.bucket``) from the period's start up to now: ``submitted``
    (created in the bucket), ``finished`` (reached a final status in it: the throughput),
    ``succeeded`` (of those, succeeded) and ``queue_depth``: the requests waiting at the bucket's
    end, i.e. created before it and neither started nor ended by then. Four queries whatever the
    number of rows or buckets: the depth is the number waiting at the period's start plus the
    arrivals minus the departures (``LEFT_QUEUE``) of each bucket so far."""
    rows = brand_requests(brand=brand, requests=requests).order_by()
    now = now or timezone.now()
    every = period.bucket_starts()
    spans = [
        (start, end) for start, end in zip(every, [*every[1:], period.until], strict=True) if start <= now
    ]
    if not spans:
        return []
    starts = [start for start, _ in spans]
    tz, kind = timezone.get_current_timezone(), period.bucket
    position = {start: i for i, start in enumerate(starts)}

    def counts(queryset: QuerySet, field: str, **aggregates) -> list[dict]:
        within = {f"{field}__gte": period.since, f"{field}__lt": period.until}
        return list(
            queryset.filter(**within)
            .annotate(bucket=Trunc(field, kind, tzinfo=tz))
            .values("bucket")
            .annotate(**aggregates)
        )

    points = [
        {"start": start, "submitted": 0, "finished": 0, "succeeded": 0, "departed": 0} for start in starts
    ]

    def add(found: list[dict], **names: str) -> None:
        for row in found:
            i = position.get(row["bucket"])
            if i is not None:
                for target, source in names.items():
                    points[i][target] += row[source]

    add(counts(rows, "created_at", n=Count("pk")), submitted="n")
    add(
        counts(rows, "finished_at", n=Count("pk"), ok=Count("pk", filter=Q(status=Status.SUCCEEDED))),
        finished="n",
        succeeded="ok",
    )
    add(counts(rows.annotate(left_queue=LEFT_QUEUE), "left_queue", n=Count("pk")), departed="n")
    waiting = (
        rows.filter(created_at__lt=period.since)
        .annotate(left_queue=LEFT_QUEUE)
        .filter(Q(left_queue__isnull=True) | Q(left_queue__gte=period.since))
        .count()
    )
    for point, (_, end) in zip(points, spans, strict=True):
        waiting += point["submitted"] - point.pop("departed")
        point["end"] = end
        point["queue_depth"] = waiting
    return points


# --- failures, rejections, cache, review ---------------------------------------------------------

# Readable labels of the stored error codes (personalization.policy, lifecycle, worker, review).
REASON_LABELS = {
    "banned_term": "banned term in the description",
    "trademark": "third-party trademark in the description",
    "protected_name": "protected name in the description",
    "unsafe_output": "unsafe picture (output safety check)",
    "text_in_design": "text in the picture breaks the policy",
    "review_rejected": "held for review, then rejected",
    "model_unavailable": "model could not be loaded",
    "gpu_oom": "GPU out of memory",
    "brand_adapter_error": "brand LoRA could not be loaded",
    "generation_error": "error while generating",
    "postprocess_error": "error while post-processing",
    "safety_unavailable": "output safety check unavailable",
    "worker_lost": "the worker stopped too often",
}
DESIGN_REJECTED = "design_rejected"


def reason_label(status: str, code: str) -> str:
    """ "Failed: GPU out of memory"; an unknown code is shown as words, an empty one as such."""
    words = REASON_LABELS.get(code) or (code.replace("_", " ") if code else "no reason recorded")
    return f"{Status(status).label}: {words}"


def failure_reasons(
    *, period: Period, brand=None, requests: QuerySet | None = None, designs: QuerySet | None = None
) -> list[dict]:
    """Requests submitted in the period that failed or were rejected, counted per (status,
    error code), and the ordered designs of the period that the shop rejected in review (one row,
    code ``design_rejected``). Each row: status, code, label, count; most frequent first."""
    found = (
        period_requests(period=period, brand=brand, requests=requests)
        .filter(status__in=[Status.FAILED, Status.REJECTED])
        .order_by()
        .values("status", "error_code")
        .annotate(count=Count("pk"))
    )
    reasons = [
        {
            "status": row["status"],
            "code": row["error_code"],
            "label": reason_label(row["status"], row["error_code"]),
            "count": row["count"],
        }
        for row in found
    ]
    rejected = (
        period_designs(period=period, brand=brand, designs=designs)
        .filter(review_state=DesignState.REJECTED)
        .count()
    )
    if rejected:
        label = "Rejected: ordered design rejected in the shop's review"
        reasons.append({"status": "rejected", "code": DESIGN_REJECTED, "label": label, "count": rejected})
    return sorted(reasons, key=lambda row: (-row["count"], row["label"]))


def cache_summary(*, period: Period, brand=None, requests: QuerySet | None = None) -> dict:
    """Of the requests submitted in the period that succeeded: ``hits`` (answered with an earlier
    request's images, no GPU used), ``misses`` (generated) and ``hit_rate`` = hits / succeeded x 100
    (None when none succeeded)."""
    row = (
        period_requests(period=period, brand=brand, requests=requests)
        .filter(status=Status.SUCCEEDED)
        .aggregate(succeeded=Count("pk"), hits=Count("pk", filter=Q(cache_source__isnull=False)))
    )
    succeeded, hits = row["succeeded"], row["hits"]
    return {
        "succeeded": succeeded,
        "hits": hits,
        "misses": succeeded - hits,
        "hit_rate": 100 * hits / succeeded if succeeded else None,
    }


def design_reviews(*, period: Period, brand=None, designs: QuerySet | None = None) -> list[dict]:
    """The ordered designs of the period by their review state now (every state, zeros included)."""
    found = dict(
        period_designs(period=period, brand=brand, designs=designs)
        .order_by()
        .values("review_state")
        .annotate(count=Count("pk"))
        .values_list("review_state", "count")
    )
    return [
        {"state": value, "label": label, "count": found.get(value, 0)} for value, label in DesignState.choices
    ]


# --- cost (the paper's Table 4) -------------------------------------------------------------------


@dataclass(frozen=True)
class CostPrices:
    """The cost model's assumptions (settings ``GPU_PRICE_PER_HOUR``, ``DESIGNER_COST_PER_DESIGN``,
    ``COST_CURRENCY``)."""

    gpu_price_per_hour: Decimal
    designer_cost_per_design: Decimal
    currency: str

    @classmethod
    def from_settings(cls) -> "CostPrices":
        return cls(
            gpu_price_per_hour=_money("GPU_PRICE_PER_HOUR", conf.GPU_PRICE_PER_HOUR),
            designer_cost_per_design=_money("DESIGNER_COST_PER_DESIGN", conf.DESIGNER_COST_PER_DESIGN),
            currency=str(conf.COST_CURRENCY),
        )


def _money(name: str, value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ImproperlyConfigured(f"PERSONALIZATION[{name!r}] must be a number, not {value!r}.") from None
    if not amount.is_finite() or amount < 0:
        raise ImproperlyConfigured(f"PERSONALIZATION[{name!r}] must be zero or more, not {value!r}.")
    return amount


def cost_row(*, category: str, designs: int, timed: int, gpu_seconds: Decimal, prices: CostPrices) -> dict:
    """One row of the cost table. ``designs``: generated images (cache hits excluded); ``timed``:
    those with a measured ``generation_seconds``, whose sum is ``gpu_seconds``. An image without a
    timing counts as a design but not in the average: GPU s/design = gpu_seconds / timed. AI cost
    per design = GPU s/design x price per GPU hour / 3600; savings % = (1 - AI / designer) x 100.
    Totals: per-design costs x designs (so untimed designs are costed at the average)."""
    per_design = gpu_seconds / timed if timed else None
    ai = per_design * prices.gpu_price_per_hour / SECONDS_PER_HOUR if per_design is not None else None
    designer = prices.designer_cost_per_design
    savings = (1 - ai / designer) * 100 if ai is not None and designer else None
    return {
        "category": category,
        "designs": designs,
        "timed_designs": timed,
        "untimed_designs": designs - timed,
        "gpu_seconds": gpu_seconds,
        "gpu_seconds_per_design": per_design,
        "ai_cost_per_design": ai,
        "designer_cost_per_design": designer,
        "savings_percent": savings,
        "ai_cost_total": ai * designs if ai is not None else None,
        "designer_cost_total": designer * designs,
    }


def cost_report(
    *, period: Period, brand=None, requests: QuerySet | None = None, prices: CostPrices | None = None
) -> dict:
    """The paper's Table 4 for the period: ``rows`` per product category (sorted by name) and
    ``total`` over all of them (sums first, then the same arithmetic: not an average of the
    categories' averages), with the ``prices`` assumed. Two queries plus the host's product lookup."""
    prices = prices or CostPrices.from_settings()
    generated = period_requests(period=period, brand=brand, requests=requests).filter(cache_source=None)
    per_product = (
        GenerationImage.objects.filter(request__in=generated)
        .order_by()
        .values("request__product")
        .annotate(designs=Count("pk"), timed=Count("generation_seconds"), seconds=Sum("generation_seconds"))
    )
    per_product = list(per_product)
    infos = product_infos_by_pk(row["request__product"] for row in per_product)
    sums: dict[str, list] = {}
    for row in per_product:
        info = infos.get(row["request__product"])
        category = info.category_name if info is not None and info.category_name else "(none)"
        total = sums.setdefault(category, [0, 0, Decimal(0)])
        total[0] += row["designs"]
        total[1] += row["timed"]
        total[2] += Decimal(repr(row["seconds"] or 0.0))
    rows = [
        cost_row(category=category, designs=d, timed=t, gpu_seconds=s, prices=prices)
        for category, (d, t, s) in sorted(sums.items())
    ]
    total = cost_row(
        category="All categories",
        designs=sum(r["designs"] for r in rows),
        timed=sum(r["timed_designs"] for r in rows),
        gpu_seconds=sum((r["gpu_seconds"] for r in rows), Decimal(0)),
        prices=prices,
    )
    return {"rows": rows, "total": total, "prices": prices}


# --- everything at once ---------------------------------------------------------------------------


def dashboard(
    *,
    period: Period,
    brand=None,
    requests: QuerySet | None = None,
    designs: QuerySet | None = None,
    now=None,
) -> dict:
    """Every figure of the dashboard for one period and brand (the charts draw from it)."""
    return {
        "period": period,
        "brand": brand,
        "categories": category_table(period=period, brand=brand, requests=requests),
        "timeline": timeline(period=period, brand=brand, requests=requests, now=now),
        "failures": failure_reasons(period=period, brand=brand, requests=requests, designs=designs),
        "cache": cache_summary(period=period, brand=brand, requests=requests),
        "reviews": design_reviews(period=period, brand=brand, designs=designs),
        "cost": cost_report(period=period, brand=brand, requests=requests),
    }
