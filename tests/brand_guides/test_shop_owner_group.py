"""The "Shop owner" group: exactly the permissions a brand owner needs in the admin, created by
``ensure_shop_owner_group`` and after every migrate, never any auth permission."""

import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal

from brand_guides.admin_scoping import (
    SHOP_OWNER_GROUP,
    BrandScopedAdminMixin,
    shop_owner_group_ensure,
    shop_owner_permission_spec,
)
from brand_guides.models import Brand

pytestmark = pytest.mark.django_db

CRUD = ("view", "add", "change", "delete")
EXPECTED = {
    *(f"brand_guides.{a}_brand" for a in ("view", "change")),
    *(f"brand_guides.{a}_{m}" for a in CRUD for m in ("palettecolor", "typography", "protectedname")),
    *(f"brand_guides.{a}_{m}" for a in CRUD for m in ("materialpreset", "stylepreset")),
    *(f"shop.{a}_{m}" for a in CRUD for m in ("product", "basecolor")),
    "shop.view_order",
    "shop.change_order",
    "shop.view_orderline",
    "personalization.view_generationrequest",
    "personalization.change_generationrequest",
    "personalization.view_generationimage",
    "personalization.view_linedesign",
    "personalization.change_linedesign",
}


def group_permissions() -> set[str]:
    group = Group.objects.get(name=SHOP_OWNER_GROUP)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_migrate_created_the_group_with_exactly_the_owner_permissions():
    assert group_permissions() == EXPECTED


def test_no_auth_or_global_permissions():
    for permission in group_permissions():
        app_label = permission.split(".")[0]
        assert app_label not in {"auth", "authtoken", "admin", "contenttypes", "sessions", "django_q"}
    assert not any("category" in p or "cart" in p or "idempotencykey" in p for p in group_permissions())


def test_the_command_is_safe_to_run_twice_and_repairs_drift():
    group = Group.objects.get(name=SHOP_OWNER_GROUP)
    group.permissions.add(Permission.objects.get(codename="change_user"))  # a careless edit
    group.permissions.remove(Permission.objects.get(codename="view_product"))
    out = io.StringIO()
    call_command("ensure_shop_owner_group", stdout=out)
    call_command("ensure_shop_owner_group", stdout=out)
    assert group_permissions() == EXPECTED
    assert Group.objects.filter(name=SHOP_OWNER_GROUP).count() == 1
    assert f'"{SHOP_OWNER_GROUP}" has {len(EXPECTED)} permissions' in out.getvalue()
    assert "shop.change_order" in out.getvalue()


def test_the_command_creates_the_group_when_missing():
    Group.objects.filter(name=SHOP_OWNER_GROUP).delete()
    call_command("ensure_shop_owner_group", stdout=io.StringIO())
    assert group_permissions() == EXPECTED


def test_post_migrate_recreates_and_resyncs_the_group():
    Group.objects.filter(name=SHOP_OWNER_GROUP).delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert group_permissions() == EXPECTED
    group = Group.objects.get(name=SHOP_OWNER_GROUP)
    group.permissions.add(Permission.objects.get(codename="delete_order"))
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert group_permissions() == EXPECTED


def test_a_member_of_the_group_gets_its_permissions():
    from tests.factories import make_user

    owner = make_user("owner", is_staff=True)
    owner.groups.add(Group.objects.get(name=SHOP_OWNER_GROUP))
    owner = User.objects.get(pk=owner.pk)
    assert owner.has_perm("shop.change_product")
    assert not owner.has_perm("auth.change_user")
    assert not owner.has_perm("brand_guides.add_brand")


def test_an_admin_may_not_hand_shop_owners_auth_permissions():
    site = admin.AdminSite(name="probe")

    class UserAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
        brand_path = "owned_brands"
        owner_permissions = ("view", "change")

    site.register(User, UserAdmin)
    with pytest.raises(ImproperlyConfigured, match="never"):
        shop_owner_permission_spec(site)


def test_only_brand_scoped_admins_may_grant_owner_permissions():
    site = admin.AdminSite(name="probe")

    class PlainBrandAdmin(admin.ModelAdmin):
        owner_permissions = ("view",)

    site.register(Brand, PlainBrandAdmin)
    with pytest.raises(ImproperlyConfigured, match="not brand-scoped"):
        shop_owner_group_ensure(site=site)
