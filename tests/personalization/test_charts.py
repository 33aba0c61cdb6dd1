"""personalization.charts: valid SVG, nothing executable or external, "No data" when empty."""

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from personalization import analytics, charts
from tests.personalization.analytics_helpers import known_fixture

SVG = "{http://www.w3.org/2000/svg}"
PRICES = analytics.CostPrices(Decimal("3.60"), Decimal("25"), "USD")
TWO_DAYS = analytics.period_for_dates(since=date(2026, 1, 10), until=date(2026, 1, 11))


def assert_self_contained(svg: str) -> ET.Element:
    """Parses as XML (an <svg> root), no script, no reference to anything outside the SVG: the only
    URLs are the SVG and XLink namespaces."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not svg.startswith("<?xml")
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert set(re.findall(r"https?://[^\s\"'<>]+", svg)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert not [
        value
        for el in root.iter()
        for key, value in el.attrib.items()
        if key.endswith("href") and not value.startswith("#")
    ]
    assert "@import" not in svg and "url(http" not in svg
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text for el in root.iter() if el.text and el.text.strip()]


def empty_figures() -> dict:
    return {
        "period": TWO_DAYS,
        "categories": [],
        "timeline": [],
        "failures": [],
        "cache": {"succeeded": 0, "hits": 0, "misses": 0, "hit_rate": None},
        "cost": analytics.cost_report(period=TWO_DAYS, prices=PRICES),
    }


@pytest.mark.django_db
def test_empty_data_draws_no_data_charts():
    drawn = charts.dashboard_charts(empty_figures())
    assert [c.name for c in drawn] == [
        "requests",
        "generation-time",
        "brand-consistency",
        "timeline",
        "failures",
        "cache",
        "cost",
    ]
    for chart in drawn:
        root = assert_self_contained(chart.svg)
        no_data = [el.text for el in root.iter() if el.get("class") == "no_data"]
        assert no_data == ["No data"], chart.name
        assert chart.description == "No data for this period."


@pytest.mark.django_db
def test_charts_of_the_known_rows():
    known_fixture()
    figures = analytics.dashboard(period=TWO_DAYS)
    drawn = {c.name: c for c in charts.dashboard_charts(figures)}
    for chart in drawn.values():
        root = assert_self_contained(chart.svg)
        words = texts(root)
        assert chart.title in words, chart.name
        assert not [el for el in root.iter() if el.get("class") == "no_data"], chart.name
    requests = texts(ET.fromstring(drawn["requests"].svg))
    assert {"Caps", "Mugs", "Shirts", "Product category", "Requests"} <= set(requests)
    assert drawn["requests"].description == "Caps: 1; Mugs: 5; Shirts: 4."
    assert "Seconds per request" in texts(ET.fromstring(drawn["generation-time"].svg))
    assert drawn["cache"].description == "1 of 5 succeeded requests were cache hits (20.0%)."
    timeline = texts(ET.fromstring(drawn["timeline"].svg))
    assert {"Queue depth", "Submitted", "Finished (throughput)", "Succeeded"} <= set(timeline)
    assert "USD per design" in texts(ET.fromstring(drawn["cost"].svg))
    assert "All categories: AI 0.0049 vs designer 25.00." in drawn["cost"].description


def test_count_axes_have_whole_number_ticks():
    from personalization.charts import _count_ticks, failures_chart

    assert _count_ticks(1) == [0, 1]
    assert _count_ticks(7) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert _count_ticks(25) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
    svg = failures_chart(
        [{"label": "Failed: GPU out of memory", "count": 1, "status": "failed", "code": "gpu_oom"}]
    ).svg
    assert ">0.2<" not in svg and ">0.4<" not in svg  # the default ticks were 0, 0.2, 0.4 ... 1
