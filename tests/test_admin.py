"""Every registered admin renders (changelist, add, change), and its search and filters work."""

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.files.base import ContentFile
from django.test import RequestFactory
from django.urls import reverse

from apikit.models import IdempotencyKey
from brand_guides.models import Brand, Typography
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from shop.models import Cart, Order, Product
from tests.factories import make_brand, make_material, make_product, make_style, make_user
from tests.foundation_helpers import (
    make_cart,
    make_generation,
    make_idempotency_key,
    make_order,
    make_succeeded_generation,
    png_bytes,
)

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
PROJECT_APPS = {"shop", "brand_guides", "personalization"}


@pytest.fixture
def superuser():
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def objects(superuser):
    """At least one row of every registered model (factories, not seed_demo: these tests run often)."""
    brand = make_brand(
        name="Northwind Outfitters",
        slug="northwind-outfitters",
        palette=(("Navy", "#1F2A44", "primary"), ("Sand", "#D8C3A5", "accent")),
    )
    Typography.objects.create(brand=brand, role="heading", font_family="Montserrat")
    make_brand(name="Sunny Days Co.", slug="sunny-days-co", palette=(("Coral", "#FF6F61", "primary"),))
    make_style(name="Watercolor", slug="watercolor")
    material = make_material(name="Cotton (matte)", slug="cotton")
    product = make_product(brand=brand, materials=[material], name="Classic T-shirt", slug="classic-t-shirt")
    product.mockup_template.save("classic-t-shirt.png", ContentFile(png_bytes("#EEEEEE")), save=True)
    done = make_succeeded_generation(product, customer=superuser, rating=4)
    make_generation(product, progress_step=12)  # queued, part-way
    design = done.images.get()
    make_cart(product, user=superuser, design=design)
    make_order(product, design=design)
    make_idempotency_key(superuser)
    _usage_counter()
    _email_notification()
    _worker_heartbeat()
    _third_party_rows(superuser)
    return {"product": product, "generation": done, "design": design}


def _worker_heartbeat() -> None:
    from django.utils import timezone

    from personalization.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="gpu-0:4242", host="gpu-0", pid=4242, started_at=now, last_seen=now)


def _email_notification() -> None:
    from personalization.models import EmailNotification

    EmailNotification.objects.create(
        kind="order_confirmation",
        key="PZ1234ABCD",
        builder="shop.emails.order_confirmation",
        to="ada@example.com",
        status=EmailNotification.Status.FAILED,
        attempts=1,
        last_error="SMTPException: 421 the mail server is not answering",
    )


def _usage_counter() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from personalization.models import UsageCounter

    start = timezone.now().replace(microsecond=0)
    UsageCounter.objects.create(
        key="quota:day:test", window_start=start, expires_at=start + timedelta(days=1)
    )


def _third_party_rows(user) -> None:
    """Rows for the admins that Django, DRF and django-q2 register, so their change pages open too."""
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from django_q.models import OrmQ, Schedule, Task
    from django_q.signing import SignedPackage
    from rest_framework.authtoken.models import Token

    Group.objects.create(name="Merchants")
    Token.objects.create(user=user)
    Schedule.objects.create(
        name="sweep", func="math.floor", args="1", schedule_type=Schedule.MINUTES, minutes=1
    )
    now = timezone.now()
    for success in (True, False):
        Task.objects.create(
            id=f"task-{success}",
            name=f"task-{success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
            result=1 if success else "boom",
            group="generation",
        )
    payload = SignedPackage.dumps(
        {
            "id": "queued-1",
            "name": "queued",
            "func": "math.floor",
            "args": (1,),
            "kwargs": {},
            "group": "generation",
        }
    )
    OrmQ.objects.create(key="web", payload=payload, lock=now)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_has_an_admin_or_an_inline():
    from django.apps import apps

    registered = set(admin.site._registry)
    inlined = {
        inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines
    }
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            assert model in registered | inlined, f"{model._meta.label} has no admin"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_changelist_add_and_change_pages_render(admin_client, objects, superuser, model):
    model_admin = admin.site._registry[model]
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200

    request = RequestFactory().get("/")
    request.user = superuser
    response = admin_client.get(_url(model, "add"))
    # Rows written only by services (generations, frozen designs, idempotency keys) have no add page.
    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)

    obj = model._default_manager.first()
    if obj is None and model._meta.app_label not in PROJECT_APPS:
        return  # an admin registered later by a third-party app: its changelist and add page rendered
    assert obj is not None, f"no {model._meta.label} row to open"
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_search_and_every_filter_choice(admin_client, objects, superuser, model):
    model_admin = admin.site._registry[model]
    url = _url(model, "changelist")
    if model_admin.search_fields:
        for term in ("a", "lion", "zzz-no-match", "1234", str(objects["generation"].pk)[:8]):
            response = admin_client.get(url, {SEARCH_VAR: term})
            assert response.status_code == 200, term
    request = RequestFactory().get(url)
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    for spec in changelist.filter_specs:
        for choice in spec.choices(changelist):
            response = admin_client.get(url + choice["query_string"])
            assert response.status_code == 200, (spec.title, choice["query_string"])
            assert b"errornote" not in response.content


def test_brand_palette_swatches_and_slug_prepopulated(admin_client, objects):
    brand = Brand.objects.get(slug="northwind-outfitters")
    page = admin_client.get(_url(Brand, "change", brand.pk)).content.decode()
    assert "background:#1F2A44" in page  # navy swatch in the palette inline
    changelist = admin_client.get(_url(Brand, "changelist")).content.decode()
    assert "background:#FF6F61" in changelist  # coral in Sunny Days' list row
    assert admin.site._registry[Brand].prepopulated_fields == {"slug": ("name",)}


def test_product_print_area_summary_and_mockup_preview(admin_client, objects):
    product = objects["product"]
    assert (product.print_width_mm, product.print_height_mm, product.print_dpi) == (250, 300, 300)
    page = admin_client.get(_url(Product, "change", product.pk)).content.decode()
    assert "250 × 300 mm at 300 dpi = 2953 × 3543 px" in page
    assert product.mockup_template.url in page
    assert "background:#FFFFFF" in page  # base colour swatch


def test_product_filters_by_category_brand_published(admin_client, objects):
    product = objects["product"]
    url = _url(Product, "changelist")
    response = admin_client.get(
        url,
        {
            "category__id__exact": product.category_id,
            "brand__id__exact": product.brand_id,
            "is_published__exact": 1,
        },
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert all(p.category_id == product.category_id for p in response.context["cl"].result_list)


def test_order_lines_show_frozen_design_or_dash(admin_client, objects):
    order = Order.objects.get()
    page = admin_client.get(_url(Order, "change", order.pk)).content.decode()
    line_design = LineDesign.objects.get()
    assert line_design.image.name in page  # the storage key: signed S3 URLs differ per signing
    assert order.lines.filter(design__isnull=True).exists()  # the plain line renders without a design


def test_generation_request_computed_fields(admin_client, objects):
    queued = GenerationRequest.objects.get(status=GenerationRequest.Status.QUEUED)
    page = admin_client.get(_url(GenerationRequest, "change", queued.pk)).content.decode()
    assert "12 / 25" in page
    assert "Position 1 in the queue" in page
    done = objects["generation"]
    page = admin_client.get(_url(GenerationRequest, "change", done.pk)).content.decode()
    image = GenerationImage.objects.get(request=done)
    assert image.image.name in page and image.mockup.name in page
    listing = admin_client.get(_url(GenerationRequest, "changelist")).content.decode()
    assert str(done.pk)[:8] in listing and "Succeeded" in listing


def test_generation_request_filters(admin_client, objects):
    url = _url(GenerationRequest, "changelist")
    flagged = admin_client.get(url, {"flagged": "yes"}).context["cl"]
    assert [r.pk for r in flagged.result_list] == [objects["generation"].pk]
    not_flagged = admin_client.get(url, {"flagged": "no"}).context["cl"]
    assert objects["generation"].pk not in [r.pk for r in not_flagged.result_list]
    by_category = admin_client.get(url, {"category": objects["product"].category.slug})
    assert by_category.context["cl"].result_count == 2
    by_id = admin_client.get(url, {SEARCH_VAR: str(objects["generation"].pk)[:8]}).context["cl"]
    assert [r.pk for r in by_id.result_list] == [objects["generation"].pk]


def test_cancel_action_calls_the_service(admin_client, objects):
    queued = GenerationRequest.objects.get(status=GenerationRequest.Status.QUEUED)
    done = objects["generation"]
    response = admin_client.post(
        _url(GenerationRequest, "changelist"),
        {"action": "cancel_selected", "_selected_action": [str(queued.pk), str(done.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    queued.refresh_from_db()
    done.refresh_from_db()
    assert queued.status == GenerationRequest.Status.CANCELLED
    assert done.status == GenerationRequest.Status.SUCCEEDED
    texts = [str(m) for m in response.context["messages"]]
    assert any("Cancelled" in t for t in texts)
    assert any("already finished" in t for t in texts)


def test_read_only_admins_refuse_writes(admin_client, objects):
    design = LineDesign.objects.get()
    response = admin_client.post(_url(LineDesign, "change", design.pk), {"seed": 1})
    assert response.status_code == 403
    key = IdempotencyKey.objects.get()
    assert admin_client.post(_url(IdempotencyKey, "delete", key.pk), {"post": "yes"}).status_code == 403
    assert IdempotencyKey.objects.filter(pk=key.pk).exists()


def test_cart_inline_lists_lines(admin_client, objects):
    cart = Cart.objects.get()
    page = admin_client.get(_url(Cart, "change", cart.pk)).content.decode()
    assert objects["design"].image.name in page


def test_generation_request_change_page_is_read_only(admin_client, objects):
    queued = GenerationRequest.objects.get(status=GenerationRequest.Status.QUEUED)
    url = _url(GenerationRequest, "change", queued.pk)
    response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for button in ("_save", "_continue", "_addanother", "_saveasnew"):
        assert f'name="{button}"' not in page, button
    assert "12 / 25" in page  # still shows everything
    before = GenerationRequest.objects.filter(pk=queued.pk).values().get()
    response = admin_client.post(
        url, {"description": "edited in the admin", "seed": 7, "status": "succeeded", "_save": "Save"}
    )
    assert response.status_code == 403
    assert GenerationRequest.objects.filter(pk=queued.pk).values().get() == before


def test_generation_request_admin_for_view_only_and_change_permission_staff(client, objects):
    """Viewing needs the view permission; the cancel action (a service call) the change permission.
    (The staff user owns the brand: staff see only their brands' rows, tests/test_admin_scoping.py.)"""
    from django.contrib.auth.models import Permission

    queued = GenerationRequest.objects.get(status=GenerationRequest.Status.QUEUED)
    staff = make_user("merchant", is_staff=True)
    queued.brand.owners.add(staff)
    staff.user_permissions.add(Permission.objects.get(codename="view_generationrequest"))
    client.force_login(staff)
    assert client.get(_url(GenerationRequest, "change", queued.pk)).status_code == 200
    listing = client.get(_url(GenerationRequest, "changelist"))
    assert listing.status_code == 200
    assert 'value="cancel_selected"' not in listing.content.decode()
    client.post(
        _url(GenerationRequest, "changelist"),
        {"action": "cancel_selected", "_selected_action": [str(queued.pk)]},
    )
    queued.refresh_from_db()
    assert queued.status == GenerationRequest.Status.QUEUED

    staff.user_permissions.add(Permission.objects.get(codename="change_generationrequest"))
    staff = type(staff).objects.get(pk=staff.pk)  # drop the cached permissions
    client.force_login(staff)
    listing = client.get(_url(GenerationRequest, "changelist")).content.decode()
    assert 'value="cancel_selected"' in listing
    assert 'name="_save"' not in client.get(_url(GenerationRequest, "change", queued.pk)).content.decode()
    response = client.post(
        _url(GenerationRequest, "changelist"),
        {"action": "cancel_selected", "_selected_action": [str(queued.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    queued.refresh_from_db()
    assert queued.status == GenerationRequest.Status.CANCELLED


def test_generation_request_changelist_keeps_the_report_button(admin_client, objects):
    page = admin_client.get(_url(GenerationRequest, "changelist")).content.decode()
    assert reverse("admin:personalization_generationrequest_report") in page
    assert admin_client.get(reverse("admin:personalization_generationrequest_report")).status_code == 200


def test_worker_heartbeats_are_listed_for_superusers_with_their_age(client):
    from datetime import timedelta

    from django.utils import timezone

    from personalization.models import WorkerHeartbeat
    from tests.factories import make_user

    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="gpu-1:101", host="gpu-1", pid=101, started_at=now, last_seen=now)
    WorkerHeartbeat.objects.create(
        worker="gpu-1:102", host="gpu-1", pid=102, started_at=now, last_seen=now - timedelta(minutes=10)
    )
    client.force_login(make_user("root-hb", is_staff=True, is_superuser=True))
    page = client.get("/admin/personalization/workerheartbeat/").content.decode()
    assert "gpu-1:101" in page and "gpu-1:102" in page
    assert page.count("(stale)") == 1
    client.force_login(make_user("staff-hb", is_staff=True))
    assert client.get("/admin/personalization/workerheartbeat/").status_code == 403


def test_reject_held_asks_for_the_reason_on_its_page_then_rejects(admin_client):
    """The intermediate page of "Reject held designs": the held request listed with why it is held,
    the other selected one counted as skipped, and the reason required."""
    product = make_product(brand=make_brand(name="Held Co", slug="held-co"), slug="held-tee")
    held = make_succeeded_generation(product, description="A fox in a hat")
    GenerationRequest.objects.filter(pk=held.pk).update(review_state="pending_review", review_reason="Acme")
    other = make_succeeded_generation(product, description="A plain owl")
    url = reverse("admin:personalization_generationrequest_changelist")
    chosen = {"action": "reject_held", "_selected_action": [str(held.pk), str(other.pk)]}

    page = admin_client.post(url, chosen)
    content = page.content.decode()
    assert page.status_code == 200 and "reject_held-confirmation" in content
    assert "A fox in a hat" in content and "held because: Acme" in content and "A plain owl" not in content
    assert "1 other selected request(s) are not held" in content
    assert f'value="{held.pk}"' in content and f'value="{other.pk}"' not in content

    refused = admin_client.post(url, {**chosen, "apply": "yes", "reason": "  "})
    assert refused.status_code == 200
    held.refresh_from_db()
    assert held.review_state == "pending_review"

    done = admin_client.post(url, {**chosen, "apply": "yes", "reason": "Another company's mark"})
    assert done.status_code == 302
    held.refresh_from_db()
    assert (held.review_state, held.review_reason) == ("rejected", "Another company's mark")
