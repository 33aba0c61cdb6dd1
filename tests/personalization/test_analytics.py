"""personalization.analytics against the known rows of analytics_helpers (see its docstring), each
expected value computed by hand in the comments."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personalization import analytics
from personalization.analytics import CostPrices, Period, period_for_dates
from tests.factories import make_category, make_product
from tests.personalization.analytics_helpers import D, at, known_fixture, make_request

pytestmark = pytest.mark.django_db

# D 00:00 to D+2 00:00 (days D and D+1, both included): 48 hours, so hourly buckets.
TWO_DAYS = period_for_dates(since=date(2026, 1, 10), until=date(2026, 1, 11))
PRICES = CostPrices(
    gpu_price_per_hour=Decimal("3.60"), designer_cost_per_design=Decimal("25"), currency="USD"
)


@pytest.fixture
def rows():
    return known_fixture()


# --- the period ---------------------------------------------------------------------------------


def test_period_for_dates_whole_days_until_inclusive():
    period = period_for_dates(since=date(2026, 1, 10), until=date(2026, 1, 11))
    assert period.since == D and period.until == D + timedelta(days=2)
    assert period.bucket == "hour" and len(period.bucket_starts()) == 48
    three = period_for_dates(since=date(2026, 1, 10), until=date(2026, 1, 12))
    assert three.bucket == "day" and [s.day for s in three.bucket_starts()] == [10, 11, 12]
    # Default: the 30 days ending today, today included (2026-01-02 .. 2026-01-31).
    default = period_for_dates(today=date(2026, 1, 31))
    assert default.since.date() == date(2026, 1, 2) and default.until.date() == date(2026, 2, 1)
    with pytest.raises(ValueError, match="after the end"):
        period_for_dates(since=date(2026, 1, 12), until=date(2026, 1, 11))
    with pytest.raises(ValueError):
        Period(since=D, until=D)


def test_hourly_buckets_on_a_day_the_clocks_change(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # 2026-03-29: 02:00 CET -> 03:00 CEST, a 23-hour day
    period = period_for_dates(since=date(2026, 3, 29), until=date(2026, 3, 29))
    starts = period.bucket_starts()
    assert len(starts) == 23 and [s.hour for s in starts[:4]] == [0, 1, 3, 4]
    in_utc = [s.astimezone(UTC) for s in starts]  # (same-zone subtraction would be wall-clock time)
    assert all(b - a == timedelta(hours=1) for a, b in zip(in_utc, in_utc[1:], strict=False))
    product = make_product(category=make_category(name="Mugs", slug="mugs"))
    # 01:30 UTC is 03:30 CEST: submitted in the local 03:00 bucket, still waiting at its end.
    make_request(product, created=datetime(2026, 3, 29, 1, 30, tzinfo=UTC), status="queued")
    points = analytics.timeline(period=period, now=period.until)
    assert [(p["start"].hour, p["submitted"], p["queue_depth"]) for p in points[1:4]] == [
        (1, 0, 0),
        (3, 1, 1),
        (4, 0, 1),
    ]


# --- Table 2 ------------------------------------------------------------------------------------


def test_category_table_is_table_2_for_the_period(rows):
    table = {r["category"]: r for r in analytics.category_table(period=TWO_DAYS)}
    # p0 (created D-1) and o1 (created D+3) are outside the period.
    assert list(table) == ["Caps", "Mugs", "Shirts"]
    mugs, shirts, caps = table["Mugs"], table["Shirts"], table["Caps"]
    # Mugs: m1..m5 = 5 requests; succeeded m1, m2, m3; rejected m4 -> 1 / 5 = 20.0 %.
    assert (mugs["requests"], mugs["succeeded"], mugs["rejected"]) == (5, 3, 1)
    assert mugs["rejection_rate"] == pytest.approx(20.0)
    # Timed: succeeded, not from cache: m1 2 s, m2 4 s -> (2 + 4) / 2 = 3.0 s (m3 is a cache hit).
    assert mugs["avg_generation_seconds"] == pytest.approx(3.0)
    # Scores of m1, m2, m3's images: (80 + 60 + 70 + 80) / 4 = 72.5; ratings (5 + 3) / 2 = 4.0.
    assert mugs["avg_brand_consistency"] == pytest.approx(72.5)
    assert mugs["avg_rating"] == pytest.approx(4.0) and mugs["ratings"] == 2
    # Shirts: s1..s4 = 4; rejected s3 -> 1 / 4 = 25.0 %; s1 ran 6 s; scores (90 + 50) / 2 = 70.0.
    assert (shirts["requests"], shirts["rejected"], shirts["rejection_rate"]) == (4, 1, 25.0)
    assert shirts["avg_generation_seconds"] == pytest.approx(6.0)
    assert shirts["avg_brand_consistency"] == pytest.approx(70.0)
    assert shirts["avg_rating"] is None
    # Caps (brand B): c1 only, 10 s, score 40, nothing rejected.
    assert (caps["requests"], caps["avg_generation_seconds"], caps["rejection_rate"]) == (1, 10.0, 0.0)


def test_brand_and_period_filters(rows):
    only_a = {r["category"] for r in analytics.category_table(period=TWO_DAYS, brand=rows["brand_a"])}
    assert only_a == {"Mugs", "Shirts"}
    only_b = analytics.category_table(period=TWO_DAYS, brand=rows["brand_b"])
    assert [(r["category"], r["requests"]) for r in only_b] == [("Caps", 1)]
    # D+3 alone: o1 only (one Mugs request of 5 s).
    later = analytics.category_table(
        period=period_for_dates(since=date(2026, 1, 13), until=date(2026, 1, 13))
    )
    assert [(r["category"], r["requests"], r["avg_generation_seconds"]) for r in later] == [("Mugs", 1, 5.0)]
    # The caller's visible rows (the admin's brand scope) bound every figure.
    scoped = analytics.category_table(
        period=TWO_DAYS, requests=analytics.brand_requests(brand=rows["brand_b"])
    )
    assert [r["category"] for r in scoped] == ["Caps"]


# --- the queue over time --------------------------------------------------------------------------


def test_timeline_hourly_queue_depth_and_throughput(rows):
    points = analytics.timeline(period=TWO_DAYS, brand=rows["brand_a"], now=D + timedelta(days=2))
    assert len(points) == 48 and points[0]["start"] == D and points[-1]["end"] == D + timedelta(days=2)
    by_hour = {p["start"].hour: p for p in points[:24]}
    # Waiting at D 00:00: p0 (created D-1 23:00, started D 10:30) -> depth 1 through hour 9.
    assert [by_hour[h]["queue_depth"] for h in range(10)] == [1] * 10
    # Arrivals: 10h m1 m2 s1 s2 s3 (5); 11h m3 s4 (2); 12h m4 m5 (2).
    assert [by_hour[h]["submitted"] for h in (10, 11, 12, 13)] == [5, 2, 2, 0]
    # Departures: 10h m1 p0 (2); 11h m2 (started 11:00 sharp) m3 s4 (3); 12h m4 s1 s3 (3); 13h m5 (1).
    # Depth at each hour's end: 10h 1+5-2 = 4; 11h 4+2-3 = 3; 12h 3+2-3 = 2; 13h 2-1 = 1 (s2 waits on).
    assert [by_hour[h]["queue_depth"] for h in (10, 11, 12, 13, 14, 23)] == [4, 3, 2, 1, 1, 1]
    assert points[-1]["queue_depth"] == 1
    # Finished: 10h m1 p0 (both succeeded); 11h m2 m3 s4 (2 succeeded); 12h m4 s1 s3 (1); 13h m5 (0).
    assert [(by_hour[h]["finished"], by_hour[h]["succeeded"]) for h in (10, 11, 12, 13)] == [
        (2, 2),
        (3, 2),
        (3, 1),
        (1, 0),
    ]
    assert sum(p["finished"] for p in points) == 9


def test_timeline_daily_and_stops_at_now(rows):
    period = period_for_dates(since=date(2026, 1, 9), until=date(2026, 1, 12))
    assert period.bucket == "day"
    points = analytics.timeline(period=period, brand=rows["brand_a"], now=D + timedelta(days=10))
    # Day 9: p0 arrives, waits -> 1. Day 10: 9 arrive (m1-m5, s1-s4), 9 leave (p0, m1-m5, s1, s3,
    # s4) -> 1 + 9 - 9 = 1 (s2). o1 (day 13) is outside.
    assert [(p["start"].day, p["submitted"], p["queue_depth"]) for p in points] == [
        (9, 1, 1),
        (10, 9, 1),
        (11, 0, 1),
        (12, 0, 1),
    ]
    # Finished on day 10: p0 m1 m2 m3 m4 m5 s1 s3 s4 = 9, of which p0 m1 m2 m3 s1 succeeded = 5.
    assert (points[1]["finished"], points[1]["succeeded"]) == (9, 5)
    # "Now" on D 12:30: the buckets after it are not drawn.
    hourly = analytics.timeline(period=TWO_DAYS, brand=rows["brand_a"], now=at(0, 12, 30))
    assert len(hourly) == 13 and (hourly[-1]["start"], hourly[-1]["end"]) == (at(0, 12), at(0, 13))


# --- failures, cache, review ------------------------------------------------------------------------


def test_failures_and_rejections_by_reason(rows):
    reasons = analytics.failure_reasons(period=TWO_DAYS)
    # Ordered designs rejected in review: d1 (A) and d3 (B) -> 2, first (most frequent); then one
    # each: m5 gpu_oom, m4 banned_term, s3 unsafe_output, by label. s4 (cancelled) is no failure.
    assert [(r["code"], r["count"]) for r in reasons] == [
        ("design_rejected", 2),
        ("gpu_oom", 1),
        ("banned_term", 1),
        ("unsafe_output", 1),
    ]
    assert reasons[1]["label"] == "Failed: GPU out of memory"
    assert reasons[2]["label"] == "Rejected: banned term in the description"
    only_b = analytics.failure_reasons(period=TWO_DAYS, brand=rows["brand_b"])
    assert [(r["code"], r["count"]) for r in only_b] == [("design_rejected", 1)]
    assert analytics.reason_label("failed", "new_code") == "Failed: new code"
    assert analytics.reason_label("failed", "") == "Failed: no reason recorded"


def test_cache_hit_rate_and_design_reviews(rows):
    cache = analytics.cache_summary(period=TWO_DAYS)
    # Succeeded in the period: m1 m2 m3 s1 c1 = 5; cache hits: m3 -> 1 / 5 = 20 %.
    assert cache == {"succeeded": 5, "hits": 1, "misses": 4, "hit_rate": pytest.approx(20.0)}
    assert analytics.cache_summary(period=TWO_DAYS, brand=rows["brand_b"])["hit_rate"] == pytest.approx(0.0)
    empty = analytics.cache_summary(period=period_for_dates(since=date(2025, 1, 1), until=date(2025, 1, 2)))
    assert empty["hit_rate"] is None
    reviews = {r["state"]: r["count"] for r in analytics.design_reviews(period=TWO_DAYS)}
    # Ordered in the period: d1 rejected, d2 approved, d3 rejected, d4 pending (d5 is on D+5).
    assert reviews == {"pending_review": 1, "approved": 1, "rejected": 2}


# --- cost -------------------------------------------------------------------------------------------


def test_cost_per_category_and_overall(rows):
    report = analytics.cost_report(period=TWO_DAYS, prices=PRICES)
    table = {r["category"]: r for r in report["rows"]}
    assert list(table) == ["Caps", "Mugs", "Shirts"]
    mugs = table["Mugs"]
    # Mugs designs: m1's two images (2.0, 4.0 s) and m2's one (6.0 s); m3 is a cache hit, not a
    # design. 12.0 s / 3 = 4.0 s per design; 4.0 x 3.60 / 3600 = 0.004 USD; savings
    # (1 - 0.004 / 25) x 100 = 99.984 %; totals 0.004 x 3 = 0.012 vs 25 x 3 = 75.
    assert (mugs["designs"], mugs["timed_designs"], mugs["gpu_seconds"]) == (3, 3, Decimal("12"))
    assert mugs["gpu_seconds_per_design"] == Decimal("4")
    assert mugs["ai_cost_per_design"] == Decimal("0.004")
    assert mugs["savings_percent"] == Decimal("99.984")
    assert (mugs["ai_cost_total"], mugs["designer_cost_total"]) == (Decimal("0.012"), Decimal("75"))
    shirts = table["Shirts"]
    # Shirts: s1's two images, one without a timing: 2 designs, 1 timed, 3.0 s -> 3.0 s per design
    # (the untimed one counts as a design, not in the average); 3.0 x 3.60 / 3600 = 0.003 USD;
    # (1 - 0.003 / 25) x 100 = 99.988 %; totals 0.003 x 2 = 0.006 vs 50.
    assert (shirts["designs"], shirts["untimed_designs"], shirts["gpu_seconds_per_design"]) == (
        2,
        1,
        Decimal("3"),
    )
    assert shirts["ai_cost_per_design"] == Decimal("0.003") and shirts["savings_percent"] == Decimal("99.988")
    assert shirts["ai_cost_total"] == Decimal("0.006")
    # Caps: c1, 10.0 s -> 10 x 3.60 / 3600 = 0.01 USD, (1 - 0.01 / 25) x 100 = 99.96 %.
    assert table["Caps"]["ai_cost_per_design"] == Decimal("0.01")
    assert table["Caps"]["savings_percent"] == Decimal("99.96")
    total = report["total"]
    # Overall from the sums: 6 designs, 5 timed, 12 + 3 + 10 = 25.0 s -> 5.0 s per design;
    # 5 x 3.60 / 3600 = 0.005 USD; (1 - 0.005 / 25) x 100 = 99.98 %; totals 0.005 x 6 = 0.03 vs 150.
    assert (total["designs"], total["timed_designs"], total["gpu_seconds"]) == (6, 5, Decimal("25"))
    assert total["ai_cost_per_design"] == Decimal("0.005") and total["savings_percent"] == Decimal("99.98")
    assert (total["ai_cost_total"], total["designer_cost_total"]) == (Decimal("0.03"), Decimal("150"))


def test_cost_prices_from_settings_and_edge_cases(settings, rows):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "GPU_PRICE_PER_HOUR": "7.20",
        "DESIGNER_COST_PER_DESIGN": "0",
        "COST_CURRENCY": "EUR",
    }
    report = analytics.cost_report(period=TWO_DAYS, brand=rows["brand_b"])
    # 10 s x 7.20 / 3600 = 0.02 EUR; a designer cost of 0 leaves the savings undefined.
    assert report["prices"].currency == "EUR"
    assert report["total"]["ai_cost_per_design"] == Decimal("0.02")
    assert report["total"]["savings_percent"] is None
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "GPU_PRICE_PER_HOUR": "cheap"}
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="GPU_PRICE_PER_HOUR"):
        CostPrices.from_settings()
    empty = analytics.cost_report(
        period=period_for_dates(since=date(2025, 1, 1), until=date(2025, 1, 2)), prices=PRICES
    )
    assert empty["rows"] == [] and empty["total"]["designs"] == 0
    assert empty["total"]["ai_cost_per_design"] is None and empty["total"]["savings_percent"] is None


def test_query_count_does_not_grow_with_rows(rows):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            analytics.dashboard(period=TWO_DAYS, now=D + timedelta(days=2))
        return len(queries)

    before = count()
    for hour in range(10):  # ten more requests, with images, in each category
        for product in (rows["mugs"], rows["shirts"], rows["caps"]):
            make_request(
                product,
                created=at(1, hour),
                started=at(1, hour, 1),
                finished=at(1, hour, 2),
                images=[(1.0, 50)],
            )
    assert count() == before
    # 11 aggregates (Table 2: 2, timeline: 4, failures: 2, cache: 1, reviews: 1, cost: 1) and the
    # host adapter's product lookup twice (the shop's: products, categories, colours, materials).
    assert before <= 19
