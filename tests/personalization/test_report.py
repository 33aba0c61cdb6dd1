import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest
from personalization.selectors import category_report
from tests.factories import make_category, make_product
from tests.personalization.analytics_helpers import known_fixture

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status


def make_request(
    product, *, status=Status.SUCCEEDED, seconds=None, scores=(), rating=None, cache_source=None
):
    now = timezone.now()
    req = GenerationRequest.objects.create(
        product=product,
        brand=product.brand,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        description="A cat",
        seed=1,
        status=status,
        rating=rating,
        cache_source=cache_source,
        started_at=now if seconds is not None else None,
        finished_at=now + timedelta(seconds=seconds) if seconds is not None else None,
    )
    for i, score in enumerate(scores):
        GenerationImage.objects.create(
            request=req, index=i, seed=i, image=f"x/{i}.png", width=64, height=64, brand_consistency=score
        )
    return req


def test_category_report_aggregates_per_category(tmp_path):
    mugs = make_product(category=make_category(name="Kitchen items", slug="kitchen-items"))
    shirts = make_product(category=make_category(name="Apparel", slug="apparel"))
    a = make_request(mugs, seconds=2.0, scores=(90, 70), rating=5)
    make_request(mugs, seconds=4.0, scores=(80,), rating=3)
    make_request(mugs, seconds=0.0, scores=(10,), cache_source=a)  # cache hit: not timed
    make_request(mugs, status=Status.REJECTED)
    make_request(shirts, seconds=1.5, scores=(60,))

    rows = {r["category"]: r for r in category_report()}
    assert list(rows) == ["Apparel", "Kitchen items"]
    mug = rows["Kitchen items"]
    assert mug["requests"] == 4 and mug["succeeded"] == 3 and mug["rejected"] == 1
    assert mug["avg_generation_seconds"] == pytest.approx(3.0)
    assert mug["avg_brand_consistency"] == pytest.approx((90 + 70 + 80 + 10) / 4, abs=0.05)
    assert mug["avg_rating"] == pytest.approx(4.0) and mug["ratings"] == 2
    assert rows["Apparel"]["avg_rating"] is None

    out = tmp_path / "report.csv"
    call_command("personalization_report", csv=out)
    with out.open() as fh:
        table = list(csv.DictReader(fh))
    assert [r["category"] for r in table] == ["Apparel", "Kitchen items"]
    assert float(table[1]["avg_generation_seconds"]) == pytest.approx(3.0)


def test_admin_report_page_uses_the_same_selector(client, settings):
    from django.contrib.auth import get_user_model

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    make_request(
        make_product(category=make_category(name="Jewelry", slug="jewelry")), seconds=2.5, scores=(88,)
    )
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-long-enough-1")
    client.force_login(admin)
    changelist = client.get("/admin/personalization/generationrequest/")
    assert b"Report by category" in changelist.content
    page = client.get("/admin/personalization/generationrequest/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Jewelry" in html and "2.5" in html and "88.0" in html


# --- period, brand, cost and charts (the known rows of analytics_helpers) ---------------------------

TWO_DAYS = ["--since", "2026-01-10", "--until", "2026-01-11"]


def run_report(tmp_path, *args) -> str:
    out = io.StringIO()
    call_command("personalization_report", "--csv", str(tmp_path / "report.csv"), *args, stdout=out)
    return out.getvalue()


def test_period_and_brand(tmp_path):
    known_fixture()
    text = run_report(tmp_path, *TWO_DAYS, "--brand", "acme")
    assert "Requests submitted from 2026-01-10 to 2026-01-11 (both days included), brand acme." in text
    with (tmp_path / "report.csv").open() as fh:
        table = {r["category"]: r for r in csv.DictReader(fh)}
    # Brand A only (Caps is brand B's); Mugs: m1..m5, 1 of 5 rejected = 20.0 %.
    assert list(table) == ["Mugs", "Shirts"]
    assert (table["Mugs"]["requests"], table["Mugs"]["rejection_rate"]) == ("5", "20.0")
    # Without dates: from the first request's day (p0, D-1) to today: p0 and o1 count too.
    everything = run_report(tmp_path)
    assert "Requests submitted from 2026-01-09 to " in everything and "all brands" in everything
    with (tmp_path / "report.csv").open() as fh:
        assert {r["category"]: r["requests"] for r in csv.DictReader(fh)} == {
            "Caps": "1",
            "Mugs": "7",
            "Shirts": "4",
        }


def test_cost_table(tmp_path, settings):
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "GPU_PRICE_PER_HOUR": "3.60",
        "DESIGNER_COST_PER_DESIGN": "25",
    }
    known_fixture()
    text = run_report(tmp_path, *TWO_DAYS, "--cost")
    assert "Cost per design in USD: 3.60 per GPU hour" in text
    cost = text.split("Cost per design in USD", 1)[1]
    lines = {line.split()[0]: line.split() for line in cost.splitlines() if line.startswith(("Mugs", "All "))}
    # Mugs: 3 designs, 12.0 GPU s, 4.00 s/design, 4 x 3.60 / 3600 = 0.0040, (1 - 0.004 / 25) x 100
    # = 99.98 %, totals 0.01 (0.012) and 75.00.
    assert lines["Mugs"] == ["Mugs", "3", "0", "12.0", "4.00", "0.0040", "25.00", "99.98", "0.01", "75.00"]
    # Overall: 6 designs (1 without timing), 25.0 s / 5 = 5.00 s, 0.0050, 99.98 %, 0.03 vs 150.00.
    assert lines["All"][2:] == ["6", "1", "25.0", "5.00", "0.0050", "25.00", "99.98", "0.03", "150.00"]


def test_plot_svg_files_and_html_page(tmp_path):
    known_fixture()
    text = run_report(tmp_path, *TWO_DAYS, "--plot", str(tmp_path / "charts" / "jan.svg"))
    names = ["requests", "generation-time", "brand-consistency", "timeline", "failures", "cache", "cost"]
    for name in names:
        path = tmp_path / "charts" / f"jan-{name}.svg"
        assert f"Chart written to {path}" in text
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == sorted(f"jan-{n}.svg" for n in names)

    page_path = tmp_path / "jan.html"
    text = run_report(tmp_path, *TWO_DAYS, "--brand", "bolt", "--plot", str(page_path))
    assert f"Chart written to {page_path}" in text
    page = page_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 7 and page.count("<figure") == 7
    assert "<script" not in page and "<link" not in page and "brand Bolt" in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--brand", "nope"], "No brand with the slug 'nope'. Known slugs: acme, bolt."),
        (["--since", "2026-13-01"], "is not a date: use YYYY-MM-DD"),
        (["--since", "2026-01-12", "--until", "2026-01-11"], "The start date is after the end date."),
        (["--plot", "charts.png"], "--plot writes .svg or .html files, not 'charts.png'."),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    known_fixture()
    with pytest.raises(CommandError, match=re.escape(message)):
        run_report(tmp_path, *args)
