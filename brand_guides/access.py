"""Which brands a staff user may manage: a superuser every brand, anyone else the brands that list
them as owners. One rule for the admin, private files and staff API views."""

from django.db.models import Q, QuerySet

from .models import Brand


def sees_all_brands(user) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def managed_brands(user) -> QuerySet[Brand]:
    """The brands this user may manage (none for anonymous users or customers)."""
    if sees_all_brands(user):
        return Brand.objects.all()
    if not (getattr(user, "is_authenticated", False) and user.is_active and user.is_staff):
        return Brand.objects.none()
    return Brand.objects.filter(owners=user)


def brand_scope_q(user, path: str) -> Q:
    """A filter for rows reached through ``path`` (e.g. "brand", "product__brand") that this user
    may manage; everything for a superuser, nothing for a customer."""
    if sees_all_brands(user):
        return Q()
    return Q(**{f"{path}__in": managed_brands(user).values("pk")})


def can_manage_brand(user, brand_id) -> bool:
    if brand_id is None:
        return sees_all_brands(user)
    return managed_brands(user).filter(pk=brand_id).exists()
