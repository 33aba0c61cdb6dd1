import csv
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest
from personalization.selectors import category_report
from tests.factories import make_category, make_product

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
