"""Brand-scoped admin: a staff user sees and edits only the rows of the brands that list them as
owners (``brand_guides.access``); a superuser sees everything.

A ModelAdmin opts in with ``BrandScopedAdminMixin`` and names the path from its model to the Brand
in ``brand_path`` ("brand", "product__brand", or several paths, any of which grants access). Then:

- lists, filters' choices, the date hierarchy, actions (also a forged POST of other ids),
  autocomplete and the report views read the scoped queryset;
- an out-of-scope or missing object answers 404 on its change, delete and history URLs (Django
  would redirect to the index, which tells "exists" from "hidden" no better but hides the refusal);
- foreign-key and many-to-many choices in forms (and in inlines with ``ScopedChoicesMixin``) offer
  only what the user manages: a brand-scoped related model through its admin's ``choice_queryset``,
  Brand itself through ``managed_brands``.

``owner_permissions`` on an admin or inline names what the "Shop owner" group may do with its model;
``shop_owner_group_ensure`` builds the group from them (management command ``ensure_shop_owner_group``
and after every ``migrate``).
"""

from django.contrib import admin
from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from .access import brand_scope_q, managed_brands, sees_all_brands
from .models import Brand

SHOP_OWNER_GROUP = "Shop owner"
# Apps whose permissions the Shop owner group never holds, whatever an admin declares: users and
# groups (an owner could make themselves a superuser), tokens, admin log entries.
FORBIDDEN_OWNER_APPS = frozenset({"auth", "authtoken", "admin", "contenttypes", "sessions"})


def _paths(brand_path) -> tuple[str, ...]:
    return (brand_path,) if isinstance(brand_path, str) else tuple(brand_path)


def scope_q(user, brand_path) -> Q:
    """Rows reachable from any of ``brand_path`` whose brand this user manages."""
    q = Q()
    for path in _paths(brand_path):
        q |= brand_scope_q(user, path)
    return q


def scoped_queryset(user, queryset: QuerySet, brand_path) -> QuerySet:
    """``queryset`` limited to the user's brands; a subquery on the primary key, so multi-valued
    paths (an order's lines) neither duplicate rows nor disturb annotations."""
    if sees_all_brands(user):
        return queryset
    model = queryset.model
    return queryset.filter(pk__in=model._default_manager.filter(scope_q(user, brand_path)).values("pk"))


def scoped_choices(site, request, model, queryset: QuerySet) -> QuerySet:
    """Choices of a form field pointing at ``model``, limited to what this user may manage."""
    if sees_all_brands(request.user):
        return queryset
    if model is Brand:
        return queryset.filter(pk__in=managed_brands(request.user).values("pk"))
    if site.is_registered(model):
        model_admin = site.get_model_admin(model)
        if isinstance(model_admin, BrandScopedAdminMixin):
            return model_admin.choice_queryset(request, queryset)
    path = _brand_path_of(model)  # a model without an admin of its own (a generation's image)
    if path is not None:
        return queryset.filter(brand_scope_q(request.user, path))
    return queryset


def _brand_path_of(model, candidates=("brand", "product__brand", "request__brand")) -> str | None:
    """The first lookup path from ``model`` to a Brand, or None when it belongs to no brand."""
    for path in candidates:
        current = model
        try:
            for part in path.split("__"):
                current = current._meta.get_field(part).related_model
        except (FieldDoesNotExist, AttributeError):  # no such field, or not a relation
            continue
        if current is Brand:
            return path
    return None


class ScopedChoicesMixin:
    """ForeignKey / ManyToMany choices (selects, raw-id and autocomplete validation) limited to the
    user's brands. For ModelAdmins and inlines alike."""

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        related = db_field.remote_field.model
        if queryset is None:
            queryset = related._default_manager.using(db).all()
        return scoped_choices(self.admin_site, request, related, queryset)


class ScopedInlineMixin(ScopedChoicesMixin):
    """An inline whose rows belong to brands one by one (an order's lines): only the user's rows
    show. ``brand_path`` goes from the inline's model to the Brand."""

    brand_path: str | tuple[str, ...] = "brand"

    def get_queryset(self, request):
        return scoped_queryset(request.user, super().get_queryset(request), self.brand_path)


class BrandScopedAdminMixin(ScopedChoicesMixin):
    """Put first in a ModelAdmin's bases; set ``brand_path`` (and ``owner_permissions``)."""

    brand_path: str | tuple[str, ...] = "brand"
    owner_permissions: tuple[str, ...] = ()

    def scoped(self, request, queryset: QuerySet) -> QuerySet:
        return scoped_queryset(request.user, queryset, self.brand_path)

    def choice_queryset(self, request, queryset: QuerySet) -> QuerySet:
        """What a form elsewhere may point at (a product's brand, a request's product)."""
        return self.scoped(request, queryset)

    def get_queryset(self, request):
        return self.scoped(request, super().get_queryset(request))

    def in_scope(self, request, obj) -> bool:
        if obj is None or obj.pk is None or sees_all_brands(request.user):
            return True
        cache = request.__dict__.setdefault("_brand_scope_cache", {})
        key = (self.opts.label, obj.pk)
        if key not in cache:
            cache[key] = self.scoped(request, self.model._default_manager.filter(pk=obj.pk)).exists()
        return cache[key]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    def get_list_filter(self, request):
        """Related-field filters list only the related rows of the user's objects (a plain
        ``"brand"`` filter would name every brand)."""
        filters = super().get_list_filter(request)
        if sees_all_brands(request.user):
            return filters
        return [self._related_only(item) for item in filters]

    def _related_only(self, item):
        if not isinstance(item, str):
            return item
        model, field = self.model, None
        try:
            for part in item.split("__"):
                field = model._meta.get_field(part)
                model = getattr(field, "related_model", None) or model
        except FieldDoesNotExist:
            return item
        if field is not None and field.is_relation:
            return (item, admin.RelatedOnlyFieldListFilter)
        return item


class SharedPresetsMixin(BrandScopedAdminMixin):
    """Presets with no brand are shared by every brand: superusers manage them; in forms (a
    product's allowed materials) everyone may choose them; an owner's new preset needs a brand."""

    def choice_queryset(self, request, queryset: QuerySet) -> QuerySet:
        if sees_all_brands(request.user):
            return queryset
        return queryset.filter(Q(brand__isnull=True) | Q(pk__in=self.scoped(request, queryset).values("pk")))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "brand" and not sees_all_brands(request.user):
            kwargs.setdefault("required", True)
            kwargs.setdefault("empty_label", None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SuperuserOnlyAdminMixin:
    """Rows that belong to no brand and concern the whole shop (idempotency records): superusers only,
    whatever permissions a staff user holds."""

    def has_module_permission(self, request) -> bool:
        return sees_all_brands(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return sees_all_brands(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return sees_all_brands(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return sees_all_brands(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return sees_all_brands(request.user) and super().has_delete_permission(request, obj)


class BrandScopedAdminSite(admin.AdminSite):
    """The default admin site with one change: the "view on site" shortcut (``/admin/r/<type>/<id>/``,
    which redirects to an object's public URL and so reveals e.g. an order's number) answers 404 for
    objects outside the user's brands and for models the user may not view."""

    def get_urls(self):
        from django.urls import path

        urls = [u for u in super().get_urls() if getattr(u, "name", None) != "view_on_site"]
        view = path(
            "r/<int:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [view, *urls]

    def view_on_site(self, request, content_type_id, object_id):
        if not sees_all_brands(request.user):
            self._check_view_on_site(request, content_type_id, object_id)
        return contenttype_views.shortcut(request, content_type_id, object_id)

    def _check_view_on_site(self, request, content_type_id, object_id) -> None:
        from django.contrib.contenttypes.models import ContentType

        content_type = ContentType.objects.filter(pk=content_type_id).first()
        model = content_type.model_class() if content_type else None
        if model is None or not self.is_registered(model):
            raise Http404("No such object.")
        model_admin = self.get_model_admin(model)
        if not model_admin.has_view_or_change_permission(request):
            raise Http404("No such object.")
        if isinstance(model_admin, BrandScopedAdminMixin):
            try:
                visible = model_admin.get_queryset(request).filter(pk=object_id).exists()
            except (ValidationError, ValueError):
                visible = False
            if not visible:
                raise Http404("No such object.")


def shop_owner_permission_spec(site=None) -> set[tuple[str, str]]:
    """(app_label, codename) of every permission the Shop owner group holds: what each brand-scoped
    admin and its inlines declare in ``owner_permissions``."""
    site = site or admin.site
    wanted: set[tuple[str, str]] = set()
    for model, model_admin in site._registry.items():
        declared = [(model, getattr(model_admin, "owner_permissions", ()))]
        declared += [
            (inline.model, getattr(inline, "owner_permissions", ())) for inline in model_admin.inlines
        ]
        for target, actions in declared:
            if not actions:
                continue
            if not isinstance(model_admin, BrandScopedAdminMixin):
                raise ImproperlyConfigured(
                    f"{type(model_admin).__name__} grants shop owners {target._meta.label} "
                    "but is not brand-scoped."
                )
            if target._meta.app_label in FORBIDDEN_OWNER_APPS:
                raise ImproperlyConfigured(f"Shop owners never get permissions on {target._meta.label}.")
            for action in actions:
                wanted.add((target._meta.app_label, f"{action}_{target._meta.model_name}"))
    return wanted


def shop_owner_group_ensure(*, site=None, using: str = "default"):
    """Create or update the "Shop owner" group: exactly the declared permissions (extra ones added by
    hand are removed, so the group never drifts). Safe to run any number of times."""
    from django.contrib.auth.models import Group, Permission

    admin.autodiscover()
    wanted = shop_owner_permission_spec(site)
    q = Q(pk__in=[])
    for app_label, codename in wanted:
        q |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.using(using).filter(q).select_related("content_type"))
    found = {(p.content_type.app_label, p.codename) for p in permissions}
    missing = wanted - found
    if missing:
        raise LookupError(f"Permissions not found (run migrate first): {sorted(missing)}")
    group, _ = Group.objects.using(using).get_or_create(name=SHOP_OWNER_GROUP)
    group.permissions.set(permissions)
    return group
