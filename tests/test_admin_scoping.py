"""Brand-scoped admin (issue 10): two brands, two owners in the "Shop owner" group, a superuser.

Every registered admin is either brand-scoped or declared global below (with the reason); the URL
tests walk ``admin.site._registry``, so a newly registered model is covered (or fails) on its own:
each owner tries the other's rows on every admin URL (list, search, change, delete, history,
view on site, every action as a forged POST, autocomplete from every field pointing at the model)
and gets nothing: absent from lists, 404 by URL, no change in the database. Their own rows work;
the superuser sees everything; a staff member of the group who owns no brand sees nothing.
Brand B's rows all carry the word "Zephyr", so no page owner A opens may contain it.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse

from brand_guides.admin_scoping import SHOP_OWNER_GROUP, BrandScopedAdminMixin, SuperuserOnlyAdminMixin
from brand_guides.models import Brand, MaterialPreset, ProtectedName, StylePreset, Typography
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from shop.models import Order, OrderLine, Product
from tests.factories import make_brand, make_category, make_material, make_product, make_style, make_user
from tests.foundation_helpers import (
    make_cart,
    make_generation,
    make_line_design,
    make_order,
    make_succeeded_generation,
)

pytestmark = pytest.mark.django_db
ReviewState = GenerationRequest.ReviewState
MARKER = "zephyr"

# Registered admins that are not brand-scoped, and why. Anything else must be brand-scoped
# (BrandScopedAdminMixin) or superuser-only (SuperuserOnlyAdminMixin).
GLOBAL_MODELS = {
    "shop.Category": "shared catalogue data: every brand files its products under the same "
    "categories; changed by staff holding category permissions, which shop owners do not",
}
GLOBAL_APPS = {
    "auth": "users and groups: shop owners hold no auth permission (they could make themselves superusers)",
    "authtoken": "API tokens of every user: no shop owner permission",
    "django_q": "the task queue of the whole shop: no shop owner permission",
}

SCOPED = sorted(
    (m for m, a in admin.site._registry.items() if isinstance(a, BrandScopedAdminMixin)),
    key=lambda m: m._meta.label,
)
LABEL = {"ids": lambda m: m._meta.label}


def _owner(username: str):
    user = make_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    return user


def _brand_world(label: str, *, owner, category, shared_material, shared_style) -> SimpleNamespace:
    slug = label.lower()
    brand = make_brand(
        name=f"{label} Goods",
        slug=slug,
        palette=((f"{label} navy", "#1F2A44", "primary"),),
        trademark_allowlist=f"{label}Mark",
    )
    brand.owners.add(owner)
    Typography.objects.create(brand=brand, role="heading", font_family=f"{label} Sans")
    ProtectedName.objects.create(brand=brand, name=f"{label} Person")
    material = make_material(name=f"{label} silk", slug=f"{slug}-silk", brand=brand)
    style = make_style(name=f"{label} pop", slug=f"{slug}-pop", brand=brand)
    product = make_product(
        brand=brand,
        category=category,
        name=f"{label} tee",
        slug=f"{slug}-tee",
        product_type=f"{slug}-shirt",
        colors=((f"{label} white", "#FFFFFF"),),
        materials=[shared_material, material],
    )
    done = make_succeeded_generation(product, description=f"{label} lion")
    held = make_succeeded_generation(
        product,
        description=f"{label} held fox",
        review_state=ReviewState.PENDING,
        review_reason=f"{label} Person named",
    )
    queued = make_generation(product, description=f"{label} queued owl")
    design = done.images.get()
    cart = make_cart(product, design=design)
    order = make_order(product, design=design)
    return SimpleNamespace(
        brand=brand,
        material=material,
        style=style,
        product=product,
        done=done,
        held=held,
        queued=queued,
        design=design,
        cart=cart,
        order=order,
        shared_material=shared_material,
        shared_style=shared_style,
    )


def _add_line(order: Order, product: Product, image: GenerationImage) -> OrderLine:
    color = product.base_colors.first()
    line = OrderLine.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        product_slug=product.slug,
        product_type=product.product_type,
        base_color_name=color.name,
        base_color_hex=color.hex,
        quantity=3,
        unit_price=Decimal("10.00"),
    )
    make_line_design(line, image)
    return line


@pytest.fixture
def world():
    root = make_user("root", is_staff=True, is_superuser=True)
    owner_a, owner_b, drifter = _owner("owner-a"), _owner("owner-b"), _owner("drifter")
    category = make_category(name="Apparel", slug="apparel")
    shared_material = make_material(name="Shared cotton", slug="shared-cotton")
    shared_style = make_style(name="Shared ink", slug="shared-ink")
    common = {"category": category, "shared_material": shared_material, "shared_style": shared_style}
    a = _brand_world("Acorn", owner=owner_a, **common)
    b = _brand_world("Zephyr", owner=owner_b, **common)
    mixed = make_order(a.product, design=a.design)  # an order holding both brands' lines
    b_line = _add_line(mixed, b.product, b.design)
    Order.objects.filter(pk=mixed.pk).update(total=Decimal("78.00"))  # 2 x 24 (A) + 3 x 10 (B)
    mixed.refresh_from_db()
    return SimpleNamespace(
        root=root, owner_a=owner_a, owner_b=owner_b, drifter=drifter, a=a, b=b, mixed=mixed, b_line=b_line
    )


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def as_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def model_admin(model):
    return admin.site._registry[model]


def exclusive(model, *, of, not_of):
    """A row that ``of`` manages and ``not_of`` does not."""
    theirs = set(model_admin(model).get_queryset(as_request(not_of)).values_list("pk", flat=True))
    mine = model_admin(model).get_queryset(as_request(of)).values_list("pk", flat=True)
    pk = next((pk for pk in mine if pk not in theirs), None)
    return None if pk is None else model._default_manager.get(pk=pk)


def snapshot(obj) -> dict:
    model = type(obj)
    row = model._default_manager.filter(pk=obj.pk).values().first()
    for field in model._meta.many_to_many:
        row[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return row


def can(user, action: str, model) -> bool:
    return user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")


def can_view(user, model) -> bool:
    return can(user, "view", model) or can(user, "change", model)


def autocomplete_sources(target):
    """(source model, field name) of every ForeignKey / ManyToMany pointing at ``target``."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            relation = (field.many_to_one or field.many_to_many) and not field.auto_created
            if relation and field.remote_field.model is target:
                yield model, field.name


def autocomplete(client, source, field_name, term=""):
    return client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": source._meta.app_label,
            "model_name": source._meta.model_name,
            "field_name": field_name,
            "term": term,
        },
    )


def action_names(model) -> list[str]:
    """Every action of the model's admin (as a superuser sees them)."""
    superuser = get_user_model()(username="any-superuser", is_staff=True, is_superuser=True, is_active=True)
    return list(model_admin(model).get_actions(as_request(superuser)))


def form_data(response) -> dict:
    """POST data reproducing the admin form on ``response`` (its form and inline formsets)."""
    data: dict = {}

    def add(form):
        for name, field in form.fields.items():
            key = form.add_prefix(name)
            value = form[name].value()
            if isinstance(field, forms.FileField):
                continue
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[key] = "on"
            elif value is None:
                data[key] = ""
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.forms:
            add(form)
    return data


# --- every admin is scoped or declared global --------------------------------------------------


def test_every_registered_admin_is_brand_scoped_or_declared_global():
    unscoped = []
    for model, registered in admin.site._registry.items():
        if isinstance(registered, BrandScopedAdminMixin | SuperuserOnlyAdminMixin):
            continue
        if model._meta.label in GLOBAL_MODELS or model._meta.app_label in GLOBAL_APPS:
            continue
        unscoped.append(model._meta.label)
    assert unscoped == [], f"admins neither brand-scoped nor declared global: {unscoped}"


def test_the_shop_owner_group_holds_nothing_on_global_admins(world):
    owner = world.owner_a
    for model in admin.site._registry:
        if model._meta.label in GLOBAL_MODELS or model._meta.app_label in GLOBAL_APPS:
            for action in ("view", "add", "change", "delete"):
                assert not can(owner, action, model), (action, model._meta.label)
            client = login(owner)
            assert client.get(url(model, "changelist")).status_code == 403, model._meta.label
            assert client.get(url(model, "add")).status_code == 403, model._meta.label


def test_the_fixture_has_rows_of_each_brand_alone_for_every_scoped_model(world):
    for model in SCOPED:
        for of, not_of in ((world.owner_a, world.owner_b), (world.owner_b, world.owner_a)):
            assert exclusive(model, of=of, not_of=not_of) is not None, (model._meta.label, of.username)


# --- the other brand's rows: absent and out of reach -------------------------------------------


@pytest.mark.parametrize("model", SCOPED, **LABEL)
def test_other_brands_rows_are_absent_and_404_everywhere(world, model):
    owner, client = world.owner_a, login(world.owner_a)
    obj = exclusive(model, of=world.owner_b, not_of=owner)
    pk = str(obj.pk)
    before = snapshot(obj)
    registered = model_admin(model)

    listing = client.get(url(model, "changelist"))
    if can_view(owner, model):
        assert listing.status_code == 200
        assert obj.pk not in [row.pk for row in listing.context["cl"].result_list]
        assert MARKER not in listing.content.decode().lower()
        if registered.search_fields:
            found = client.get(url(model, "changelist"), {SEARCH_VAR: MARKER})
            assert found.context["cl"].result_count == 0
            found = client.get(url(model, "changelist"), {SEARCH_VAR: str(obj)[:20]})
            assert obj.pk not in [row.pk for row in found.context["cl"].result_list]
    else:
        assert listing.status_code == 403

    for view in ("change", "delete", "history"):
        assert client.get(url(model, view, pk)).status_code == 404, view
    assert client.post(url(model, "change", pk), {"_save": "Save"}).status_code == 404
    assert client.post(url(model, "delete", pk), {"post": "yes"}).status_code == 404

    if hasattr(model, "get_absolute_url"):
        content_type = apps.get_model("contenttypes", "ContentType").objects.get_for_model(model)
        response = client.get(reverse("admin:view_on_site", args=[content_type.pk, pk]))
        assert response.status_code == 404

    for name in action_names(model):
        response = client.post(
            url(model, "changelist"),
            {
                "action": name,
                "_selected_action": [pk],
                "index": "0",
                "select_across": "0",
                "post": "yes",
                "apply": "yes",
                "reason": "forged",
            },
        )
        assert response.status_code in (200, 302, 403), (name, response.status_code)
        assert MARKER not in response.content.decode().lower(), name

    for source, field_name in autocomplete_sources(model):
        if not registered.search_fields:
            continue
        response = autocomplete(client, source, field_name)
        if response.status_code == 200:
            assert pk not in [row["id"] for row in response.json()["results"]], (source, field_name)
            assert MARKER not in response.content.decode().lower()
        else:
            assert response.status_code in (403, 404), (source, field_name, response.status_code)

    assert model._default_manager.filter(pk=obj.pk).exists()
    assert snapshot(obj) == before


@pytest.mark.parametrize("model", SCOPED, **LABEL)
def test_own_rows_work(world, model):
    owner, client = world.owner_b, login(world.owner_b)
    obj = exclusive(model, of=owner, not_of=world.owner_a)
    pk = str(obj.pk)
    request = as_request(owner)
    viewable = can_view(owner, model)

    listing = client.get(url(model, "changelist"))
    assert listing.status_code == (200 if viewable else 403)
    if viewable:
        assert obj.pk in [row.pk for row in listing.context["cl"].result_list]
    assert client.get(url(model, "change", pk)).status_code == (200 if viewable else 403)
    assert client.get(url(model, "history", pk)).status_code == (200 if viewable else 403)
    deletable = model_admin(model).has_delete_permission(request, obj)
    assert client.get(url(model, "delete", pk)).status_code == (200 if deletable else 403)
    if hasattr(model, "get_absolute_url") and viewable:
        content_type = apps.get_model("contenttypes", "ContentType").objects.get_for_model(model)
        response = client.get(reverse("admin:view_on_site", args=[content_type.pk, pk]))
        assert response.status_code == 302
        assert response["Location"].endswith(obj.get_absolute_url())
    if model_admin(model).search_fields:
        for source, field_name in autocomplete_sources(model):
            response = autocomplete(client, source, field_name)
            assert response.status_code == (200 if viewable else 403), (source, field_name)
            if viewable:
                assert pk in [row["id"] for row in response.json()["results"]], (source, field_name)


@pytest.mark.parametrize("model", SCOPED, **LABEL)
def test_superuser_sees_both_brands(world, model):
    client = login(world.root)
    listing = client.get(url(model, "changelist"))
    assert listing.status_code == 200
    shown = {row.pk for row in listing.context["cl"].result_list}
    for of, not_of in ((world.owner_a, world.owner_b), (world.owner_b, world.owner_a)):
        obj = exclusive(model, of=of, not_of=not_of)
        assert obj.pk in shown
        assert client.get(url(model, "change", str(obj.pk))).status_code == 200


@pytest.mark.parametrize("model", SCOPED, **LABEL)
def test_staff_owning_no_brand_see_nothing(world, model):
    client = login(world.drifter)
    listing = client.get(url(model, "changelist"))
    if can_view(world.drifter, model):
        assert listing.status_code == 200
        assert listing.context["cl"].result_count == 0
        assert listing.context["cl"].full_result_count == 0
    else:
        assert listing.status_code == 403
    obj = exclusive(model, of=world.owner_a, not_of=world.owner_b)
    assert client.get(url(model, "change", str(obj.pk))).status_code == 404


def test_missing_ids_are_404_not_a_redirect(world):
    client = login(world.owner_a)
    for model in SCOPED:
        for view in ("change", "delete", "history"):
            assert client.get(url(model, view, "999999")).status_code == 404, (model, view)


def test_list_filters_name_only_the_owners_brands(world):
    client = login(world.owner_a)
    for model in (GenerationRequest, Product, MaterialPreset, StylePreset):
        page = client.get(url(model, "changelist")).content.decode()
        assert "Acorn Goods" in page, model
        assert MARKER not in page.lower(), model
    by_other_brand = client.get(url(Product, "changelist"), {"brand__id__exact": world.b.brand.pk})
    assert world.b.product.pk not in [row.pk for row in by_other_brand.context["cl"].result_list]


def test_view_on_site_needs_a_view_permission(world):
    """The shortcut answers 404 for models the user may not view (carts have no public URL either)."""
    client = login(world.drifter)
    content_type = apps.get_model("contenttypes", "ContentType").objects.get_for_model(Product)
    assert (
        client.get(reverse("admin:view_on_site", args=[content_type.pk, world.a.product.pk])).status_code
        == 404
    )
    root = login(world.root)
    response = root.get(reverse("admin:view_on_site", args=[content_type.pk, world.b.product.pk]))
    assert response.status_code == 302


# --- brands, owners and allow-lists ------------------------------------------------------------


def test_owner_edits_own_brand_but_not_its_owners(world):
    client = login(world.owner_a)
    brand = world.a.brand
    page = client.get(url(Brand, "change", brand.pk))
    assert 'name="owners"' not in page.content.decode()
    assert 'name="text_in_design_outcome"' in page.content.decode()
    assert 'name="protected_names-0-name"' in page.content.decode()
    data = form_data(page)
    data.update(
        description="Edited by its owner",
        trademark_allowlist="AcornMark, AcornLeaf",
        text_in_design_outcome="reject",
        owners=[str(world.owner_a.pk), str(world.owner_b.pk), str(world.drifter.pk)],
    )
    response = client.post(url(Brand, "change", brand.pk), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    brand.refresh_from_db()
    assert brand.description == "Edited by its owner"
    assert brand.trademark_allowlist == "AcornMark, AcornLeaf"
    assert brand.text_in_design_outcome == "reject"
    assert list(brand.owners.all()) == [world.owner_a]


def test_owner_cannot_touch_the_other_brands_allowlist_even_with_a_full_form(world):
    root = login(world.root)
    data = form_data(root.get(url(Brand, "change", world.b.brand.pk)))
    data.update(trademark_allowlist="ZephyrMark, Nike", owners=[str(world.owner_a.pk)])
    client = login(world.owner_a)
    assert client.post(url(Brand, "change", world.b.brand.pk), data).status_code == 404
    world.b.brand.refresh_from_db()
    assert world.b.brand.trademark_allowlist == "ZephyrMark"
    assert list(world.b.brand.owners.all()) == [world.owner_b]


def test_owners_cannot_add_or_delete_brands_superusers_can_and_edit_owners(world):
    client = login(world.owner_a)
    assert client.get(url(Brand, "add")).status_code == 403
    assert client.get(url(Brand, "delete", world.a.brand.pk)).status_code == 403
    root = login(world.root)
    page = root.get(url(Brand, "change", world.a.brand.pk))
    assert 'name="owners"' in page.content.decode()
    data = form_data(page)
    data["owners"] = [str(world.owner_a.pk), str(world.drifter.pk)]
    assert root.post(url(Brand, "change", world.a.brand.pk), data).status_code == 302
    assert set(world.a.brand.owners.all()) == {world.owner_a, world.drifter}


def test_protected_names_inline_edits_only_the_owners_brand(world):
    client = login(world.owner_a)
    page = client.get(url(Brand, "change", world.a.brand.pk))
    data = form_data(page)
    other = ProtectedName.objects.get(brand=world.b.brand)
    # A forged inline row pointing at brand B's protected name is refused, nothing changes.
    data["protected_names-0-id"] = str(other.pk)
    data["protected_names-0-name"] = "Hijacked"
    response = client.post(url(Brand, "change", world.a.brand.pk), data)
    assert response.status_code in (200, 302)  # Django skips a row id outside the brand's own rows
    other.refresh_from_db()
    assert (other.name, other.brand) == ("Zephyr Person", world.b.brand)
    assert list(ProtectedName.objects.filter(brand=world.b.brand)) == [other]
    assert not ProtectedName.objects.filter(name="Hijacked").exclude(brand=world.a.brand).exists()
    data = form_data(page)
    data["protected_names-TOTAL_FORMS"] = "2"
    data.update({"protected_names-1-name": "Famous Painter", "protected_names-1-kind": "artist"})
    data["protected_names-1-outcome"] = "review"
    data["protected_names-1-brand"] = str(world.a.brand.pk)
    assert client.post(url(Brand, "change", world.a.brand.pk), data).status_code == 302
    assert ProtectedName.objects.filter(brand=world.a.brand, name="Famous Painter", outcome="review").exists()


# --- presets -----------------------------------------------------------------------------------


def test_shared_presets_are_superuser_only_in_the_admin(world):
    client = login(world.owner_a)
    for model, shared in ((MaterialPreset, world.a.shared_material), (StylePreset, world.a.shared_style)):
        listing = client.get(url(model, "changelist"))
        assert shared.pk not in [row.pk for row in listing.context["cl"].result_list]
        assert client.get(url(model, "change", shared.pk)).status_code == 404
    root = login(world.root)
    assert root.get(url(MaterialPreset, "change", world.a.shared_material.pk)).status_code == 200


def test_owner_adds_presets_for_own_brand_only(world):
    client = login(world.owner_a)
    page = client.get(url(MaterialPreset, "add"))
    choices = [value for value, _ in page.context["adminform"].form.fields["brand"].choices]
    assert [str(c) for c in choices] == [str(world.a.brand.pk)]  # no "shared", no other brand
    base = {"name": "Acorn linen", "slug": "acorn-linen", "finish": "matte", "reflectance": "0.1"}
    for brand in ("", str(world.b.brand.pk)):
        response = client.post(url(MaterialPreset, "add"), {**base, "brand": brand})
        assert response.status_code == 200
        assert "brand" in response.context["adminform"].form.errors
    assert not MaterialPreset.objects.filter(slug="acorn-linen").exists()
    response = client.post(url(MaterialPreset, "add"), {**base, "brand": str(world.a.brand.pk)})
    assert response.status_code == 302
    created = MaterialPreset.objects.get(slug="acorn-linen")
    assert created.brand == world.a.brand
    assert client.post(url(MaterialPreset, "delete", created.pk), {"post": "yes"}).status_code == 302
    assert not MaterialPreset.objects.filter(pk=created.pk).exists()


def test_delete_selected_with_forged_ids_deletes_only_own_rows(world):
    client = login(world.owner_a)
    response = client.post(
        url(StylePreset, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(world.a.style.pk), str(world.b.style.pk), str(world.a.shared_style.pk)],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not StylePreset.objects.filter(pk=world.a.style.pk).exists()
    assert StylePreset.objects.filter(pk=world.b.style.pk).exists()
    assert StylePreset.objects.filter(pk=world.a.shared_style.pk).exists()


# --- products ----------------------------------------------------------------------------------


def test_product_form_offers_own_brand_and_shared_or_own_materials(world):
    client = login(world.owner_a)
    page = client.get(url(Product, "change", world.a.product.pk))
    form = page.context["adminform"].form
    assert list(form.fields["brand"].queryset) == [world.a.brand]
    assert set(form.fields["allowed_materials"].queryset) == {world.a.shared_material, world.a.material}
    data = form_data(page)
    for field, value in (("brand", world.b.brand.pk), ("allowed_materials", [world.b.material.pk])):
        forged = {**data, field: value if isinstance(value, list) else str(value)}
        response = client.post(url(Product, "change", world.a.product.pk), forged)
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors, field
    world.a.product.refresh_from_db()
    assert world.a.product.brand == world.a.brand
    assert set(world.a.product.allowed_materials.all()) == {world.a.shared_material, world.a.material}
    data["name"] = "Acorn tee, organic"
    assert client.post(url(Product, "change", world.a.product.pk), data).status_code == 302
    world.a.product.refresh_from_db()
    assert world.a.product.name == "Acorn tee, organic"


def test_even_a_superuser_cannot_give_a_product_another_brands_material(world):
    client = login(world.root)
    page = client.get(url(Product, "change", world.a.product.pk))
    data = {
        **form_data(page),
        "allowed_materials": [str(world.a.shared_material.pk), str(world.b.material.pk)],
    }
    response = client.post(url(Product, "change", world.a.product.pk), data)
    assert response.status_code == 200
    assert "another brand" in str(response.context["adminform"].form.errors["allowed_materials"])


# --- orders ------------------------------------------------------------------------------------


def test_a_shared_order_shows_each_owner_only_their_lines(world):
    mixed = world.mixed
    for owner, mine, theirs in (
        (world.owner_a, "Acorn tee", "Zephyr tee"),
        (world.owner_b, "Zephyr tee", "Acorn tee"),
    ):
        client = login(owner)
        listing = client.get(url(Order, "changelist"))
        assert mixed.pk in [row.pk for row in listing.context["cl"].result_list]
        row = next(r for r in listing.context["cl"].result_list if r.pk == mixed.pk)
        mine_lines = [line for line in mixed.lines.all() if line.product_name == mine]
        assert row._line_count == len(mine_lines)
        assert row._lines_total == sum(line.unit_price * line.quantity for line in mine_lines)
        page = client.get(url(Order, "change", mixed.pk)).content.decode()
        assert mine in page and theirs not in page
        assert "78.00" not in page  # the order's total covers the other brand's lines too
    page = login(world.root).get(url(Order, "change", mixed.pk)).content.decode()
    assert "Acorn tee" in page and "Zephyr tee" in page and "78.00" in page


def test_owner_changes_an_orders_status_only(world):
    client = login(world.owner_a)
    order = world.mixed
    page = client.get(url(Order, "change", order.pk))
    assert set(page.context["adminform"].form.fields) == {"status"}
    data = {**form_data(page), "status": "shipped", "full_name": "Mallory", "total": "0", "user": ""}
    response = client.post(url(Order, "change", order.pk), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.full_name, order.total) == ("shipped", "Ada Lovelace", Decimal("78.00"))
    assert order.lines.count() == 3  # the other brand's hidden line is untouched


# --- generation requests: review actions, report, safety ---------------------------------------


def test_review_state_column_and_filter(world):
    client = login(world.owner_a)
    listing = client.get(url(GenerationRequest, "changelist"), {"review_state__exact": ReviewState.PENDING})
    assert [r.pk for r in listing.context["cl"].result_list] == [world.a.held.pk]
    page = listing.content.decode()
    assert "Held for review" in page and "By review state" in page


def test_approve_held_designs(world):
    client = login(world.owner_a)
    response = client.post(
        url(GenerationRequest, "changelist"),
        {
            "action": "approve_held",
            "_selected_action": [str(world.a.held.pk), str(world.a.done.pk), str(world.b.held.pk)],
            "index": "0",
        },
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert any("Approved 1 held design" in t for t in texts), texts
    assert any("not finished designs held for review" in t for t in texts), texts
    world.a.held.refresh_from_db()
    world.b.held.refresh_from_db()
    assert world.a.held.review_state == ReviewState.APPROVED
    assert world.b.held.review_state == ReviewState.PENDING


def test_reject_held_designs_asks_for_a_reason_first(world):
    client = login(world.owner_a)
    selected = [str(world.a.held.pk), str(world.b.held.pk)]
    changelist = url(GenerationRequest, "changelist")
    page = client.post(changelist, {"action": "reject_held", "_selected_action": selected, "index": "0"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html and "Acorn held fox" in html and MARKER not in html.lower()
    assert f'value="{world.b.held.pk}"' not in html
    world.a.held.refresh_from_db()
    assert world.a.held.review_state == ReviewState.PENDING  # nothing happens before the reason

    empty = client.post(
        changelist, {"action": "reject_held", "_selected_action": selected, "apply": "yes", "reason": " "}
    )
    assert empty.status_code == 200 and "Say why" in empty.content.decode()
    world.a.held.refresh_from_db()
    assert world.a.held.review_state == ReviewState.PENDING

    response = client.post(
        changelist,
        {
            "action": "reject_held",
            "_selected_action": selected,
            "apply": "yes",
            "reason": "Names a real person",
        },
    )
    assert response.status_code == 302
    world.a.held.refresh_from_db()
    world.b.held.refresh_from_db()
    assert world.a.held.review_state == ReviewState.REJECTED
    assert world.a.held.status == GenerationRequest.Status.REJECTED
    assert world.a.held.error_code == "review_rejected"
    assert world.a.held.review_reason == "Names a real person"
    assert world.b.held.review_state == ReviewState.PENDING


def test_review_actions_need_the_change_permission(world):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generationrequest"))
    world.a.brand.owners.add(viewer)
    client = login(viewer)
    listing = client.get(url(GenerationRequest, "changelist")).content.decode()
    assert 'value="approve_held"' not in listing and 'value="reject_held"' not in listing
    client.post(
        url(GenerationRequest, "changelist"),
        {"action": "approve_held", "_selected_action": [str(world.a.held.pk)], "index": "0"},
    )
    world.a.held.refresh_from_db()
    assert world.a.held.review_state == ReviewState.PENDING


def test_report_counts_only_the_owners_requests(world):
    report = reverse("admin:personalization_generationrequest_report")
    rows = login(world.owner_a).get(report).context["rows"]
    assert (
        sum(row["requests"] for row in rows) == GenerationRequest.objects.filter(brand=world.a.brand).count()
    )
    rows = login(world.root).get(report).context["rows"]
    assert sum(row["requests"] for row in rows) == GenerationRequest.objects.count()
    assert login(world.drifter).get(report).context["rows"] == []
    outsider = make_user("outsider", is_staff=True)  # staff without any permission
    assert login(outsider).get(report).status_code == 403


def test_generation_image_safety_is_shown_read_only(world):
    image = world.a.design
    GenerationImage.objects.filter(pk=image.pk).update(safety={"nudity": {"score": 0.02}, "text": ["ACORN"]})
    page = login(world.owner_a).get(url(GenerationRequest, "change", world.a.done.pk)).content.decode()
    assert "Safety check" in page and "nudity" in page and "ACORN" in page
    assert 'name="images-0-safety"' not in page


def test_line_designs_follow_the_brand(world):
    client = login(world.owner_a)
    shown = {row.pk for row in client.get(url(LineDesign, "changelist")).context["cl"].result_list}
    assert shown == set(LineDesign.objects.filter(brand=world.a.brand).values_list("pk", flat=True))
    assert LineDesign.objects.get(order_line=world.b_line).pk not in shown


def test_choices_of_models_without_an_admin_follow_their_brand(world):
    """A cart line's raw-id `design` points at GenerationImage, which has no admin of its own."""
    from brand_guides.admin_scoping import scoped_choices

    images = GenerationImage.objects.all()
    mine = scoped_choices(admin.site, as_request(world.owner_a), GenerationImage, images)
    assert set(mine) == set(GenerationImage.objects.filter(request__brand=world.a.brand))
    assert world.b.design not in mine and world.a.design in mine
    assert set(scoped_choices(admin.site, as_request(world.root), GenerationImage, images)) == set(images)
    assert not scoped_choices(admin.site, as_request(world.drifter), GenerationImage, images).exists()
