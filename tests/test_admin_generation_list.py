"""The admin list of generation requests: thumbnail, mockup, status, brand score, timings and review
state as columns; filters by status, brand, category, review state and date; search by description
and prompts; actions retry, cancel, approve, reject; brand staff see and act on their brands only."""

from datetime import timedelta

import pytest
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from brand_guides.admin_scoping import SHOP_OWNER_GROUP
from personalization import queue
from personalization.models import GenerationRequest
from tests.factories import make_brand, make_category, make_product, make_user
from tests.foundation_helpers import make_generation, make_generation_image

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
ReviewState = GenerationRequest.ReviewState
CHANGELIST = "admin:personalization_generationrequest_changelist"


def owner(username: str, brand):
    user = make_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    brand.owners.add(user)
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def aged(generation: GenerationRequest, *, days: float = 0, queued: float | None = None, ran=None):
    """Submitted ``days`` ago; started ``queued`` s later and finished ``ran`` s after that."""
    created = timezone.now() - timedelta(days=days, seconds=(queued or 0) + (ran or 0))
    started = created + timedelta(seconds=queued) if queued is not None else None
    finished = started + timedelta(seconds=ran) if started is not None and ran is not None else None
    GenerationRequest.objects.filter(pk=generation.pk).update(
        created_at=created, started_at=started, finished_at=finished
    )
    generation.refresh_from_db()
    return generation


@pytest.fixture
def shop():
    apparel, mugs = make_category(name="Apparel", slug="apparel"), make_category(name="Mugs", slug="mugs")
    acorn, zephyr = make_brand(name="Acorn", slug="acorn"), make_brand(name="Zephyr", slug="zephyr")
    tee = make_product(brand=acorn, category=apparel, slug="acorn-tee")
    mug = make_product(brand=acorn, category=mugs, slug="acorn-mug")
    z_tee = make_product(brand=zephyr, category=apparel, slug="zephyr-tee")

    done = make_generation(
        tee,
        status=Status.SUCCEEDED,
        progress_step=25,
        variations=2,
        description="a lion in the savanna",
        optimized_prompt="a lion in the savanna, golden hour, t-shirt print",
        negative_prompt="blurry, watermark",
    )
    first = make_generation_image(done, index=0, brand_consistency=64.0)
    make_generation_image(done, index=1, brand_consistency=81.0)
    aged(done, days=0, queued=3, ran=8)
    cached = make_generation(tee, status=Status.SUCCEEDED, progress_step=25, cache_source=done)
    make_generation_image(cached, index=0, brand_consistency=64.0)
    oom = make_generation(mug, status=Status.FAILED, error_code="gpu_oom", description="an owl mug")
    aged(oom, days=10, queued=2, ran=1)
    held = make_succeeded_generation_held(mug)
    aged(held, days=40, queued=1, ran=1)
    queued = make_generation(tee, description="a queued fox")
    z_oom = make_generation(z_tee, status=Status.FAILED, error_code="worker_lost", description="zephyr owl")
    return {
        "acorn": acorn,
        "zephyr": zephyr,
        "done": done,
        "first": first,
        "cached": cached,
        "oom": oom,
        "held": held,
        "queued": queued,
        "z_oom": z_oom,
        "root": make_user("root", is_staff=True, is_superuser=True),
        "owner_a": owner("owner-a", acorn),
    }


def make_succeeded_generation_held(product) -> GenerationRequest:
    held = make_generation(
        product,
        status=Status.SUCCEEDED,
        progress_step=25,
        review_state=ReviewState.PENDING,
        description="a held bear",
    )
    make_generation_image(held, brand_consistency=50.0)
    return held


def listed(client, **params) -> list:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def test_the_columns(shop):
    response = login(shop["root"]).get(reverse(CHANGELIST))
    page = response.content.decode()
    for title in ("Image", "Mockup", "Status", "Brand score (best image, 0-100)", "Timings", "Review state"):
        assert title in page, title
    first = shop["first"]
    assert first.image.name in page and first.mockup.name in page  # the first variation's thumbnails
    rows = {row.pk: row for row in response.context["cl"].result_list}
    admin = response.context["cl"].model_admin
    done = rows[shop["done"].pk]
    assert admin.brand_score(done) == "81"  # the best of 64 and 81
    assert admin.timings(done) == "3.0 s · 8.0 s"
    assert admin.timings(rows[shop["cached"].pk]) == "cache"
    assert admin.timings(rows[shop["queued"].pk]).startswith("waiting ")
    assert (
        admin.brand_score(rows[shop["oom"].pk]) == "-" and admin.image_thumbnail(rows[shop["oom"].pk]) == "-"
    )
    assert "Held for review" in page and "Failed" in page


def test_each_filter_narrows(shop):
    client = login(shop["root"])
    assert set(listed(client, status__exact="failed")) == {shop["oom"].pk, shop["z_oom"].pk}
    assert shop["z_oom"].pk not in listed(client, brand__id__exact=shop["acorn"].pk)
    assert set(listed(client, brand__id__exact=shop["zephyr"].pk)) == {shop["z_oom"].pk}
    assert set(listed(client, category="mugs")) == {shop["oom"].pk, shop["held"].pk}
    assert listed(client, review_state__exact=ReviewState.PENDING) == [shop["held"].pk]
    today = set(listed(client, created="today"))
    assert shop["queued"].pk in today and shop["oom"].pk not in today
    past_week = set(listed(client, created="7d"))
    assert shop["oom"].pk not in past_week and shop["queued"].pk in past_week
    past_month = set(listed(client, created="30d"))
    assert shop["oom"].pk in past_month and shop["held"].pk not in past_month
    assert len(listed(client, created="not-a-choice")) == GenerationRequest.objects.count()  # never a 500


def test_search_by_description_and_prompts(shop):
    client = login(shop["root"])
    assert listed(client, **{SEARCH_VAR: "golden hour"}) == [shop["done"].pk]  # the optimized prompt
    assert listed(client, **{SEARCH_VAR: "watermark"}) == [shop["done"].pk]  # the negative prompt
    assert listed(client, **{SEARCH_VAR: "owl mug"}) == [shop["oom"].pk]  # the description


def test_brand_staff_see_and_filter_their_brands_only(shop):
    client = login(shop["owner_a"])
    rows = listed(client)
    assert shop["z_oom"].pk not in rows and shop["oom"].pk in rows
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "Zephyr" not in page and "zephyr owl" not in page
    assert shop["z_oom"].pk not in listed(client, brand__id__exact=shop["zephyr"].pk)  # a forged choice
    assert shop["z_oom"].pk not in listed(client, **{SEARCH_VAR: "zephyr owl"})


@pytest.fixture
def enqueued(monkeypatch) -> list:
    woken = []
    monkeypatch.setattr(queue, "enqueue_generation", woken.append)
    return woken


def retry(client, *ids):
    return client.post(
        reverse(CHANGELIST),
        {"action": "retry_selected", "_selected_action": [str(pk) for pk in ids], "index": "0"},
        follow=True,
    )


def test_retry_action_queues_the_retryable_and_says_why_the_rest_stay(
    shop, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = retry(login(shop["root"]), shop["oom"].pk, shop["done"].pk, shop["queued"].pk)
    texts = [str(m) for m in response.context["messages"]]
    assert "Queued 1 request(s) again." in texts, texts
    assert any(t.startswith("1 request(s) were left as they are: A succeeded design") for t in texts), texts
    assert any(t.startswith("1 request(s) were left as they are: A queued or running") for t in texts), texts
    assert enqueued == [shop["oom"].pk]
    shop["oom"].refresh_from_db()
    shop["done"].refresh_from_db()
    assert (shop["oom"].status, shop["oom"].error_code) == (Status.QUEUED, "")
    assert shop["done"].status == Status.SUCCEEDED


def test_retry_by_brand_staff_ignores_another_brands_ids(shop, enqueued, django_capture_on_commit_callbacks):
    client = login(shop["owner_a"])
    assert 'value="retry_selected"' in client.get(reverse(CHANGELIST)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = retry(client, shop["oom"].pk, shop["z_oom"].pk)  # a forged id of brand Zephyr
    assert response.status_code == 200
    shop["z_oom"].refresh_from_db()
    shop["oom"].refresh_from_db()
    assert shop["z_oom"].status == Status.FAILED and shop["oom"].status == Status.QUEUED
    assert enqueued == [shop["oom"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        retry(client, shop["z_oom"].pk)  # only the other brand's id: nothing at all
    shop["z_oom"].refresh_from_db()
    assert shop["z_oom"].status == Status.FAILED and enqueued == [shop["oom"].pk]


def test_retry_needs_the_change_permission(shop, enqueued):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generationrequest"))
    shop["acorn"].owners.add(viewer)
    client = login(viewer)
    assert 'value="retry_selected"' not in client.get(reverse(CHANGELIST)).content.decode()
    retry(client, shop["oom"].pk)
    shop["oom"].refresh_from_db()
    assert shop["oom"].status == Status.FAILED and enqueued == []


def _add_rows(product, count: int) -> None:
    for n in range(count):
        generation = make_generation(product, status=Status.SUCCEEDED, progress_step=25, variations=2)
        make_generation_image(generation, index=0, brand_consistency=40.0 + n)
        make_generation_image(generation, index=1, brand_consistency=30.0)


@pytest.mark.parametrize("user", ["root", "owner_a"])
def test_the_changelist_query_count_does_not_grow_with_rows(shop, user, django_assert_max_num_queries):
    client = login(shop[user])
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    _add_rows(shop["done"].product, 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == len(few_rows := listed(client)) and len(few_rows) > 6
