"""Merge a visitor's anonymous cart into the account at login (the plugin claims the visitor's
designs itself, with its own receiver); drop the cached parts of a product's ProductInfo when the
product, its category, base colours or materials change."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from personalization.interface import visitor_session_key

from .models import BaseColor, Category, Product
from .personalization_host import forget_product_infos


@receiver(user_logged_in)
def merge_visitor_data(sender, request, user, **kwargs) -> None:
    from .services import cart_merge_into_user

    session_key = visitor_session_key(request)
    if session_key:
        cart_merge_into_user(user=user, session_key=session_key)


# --- the cached parts of a product's ProductInfo (shop.personalization_host) ----------------------


@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def forget_product_info(sender, instance, **kwargs) -> None:
    forget_product_infos(product_ids=[instance.pk])


@receiver(post_save, sender=BaseColor)
@receiver(post_delete, sender=BaseColor)
def forget_product_info_of_color(sender, instance, **kwargs) -> None:
    forget_product_infos(product_ids=[instance.product_id])


@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
def forget_category_info(sender, instance, **kwargs) -> None:
    forget_product_infos(category_ids=[instance.pk])


@receiver(m2m_changed, sender=Product.allowed_materials.through)
def forget_product_info_of_materials(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    if not reverse:  # product.allowed_materials.add(...): this product
        forget_product_infos(product_ids=[instance.pk])
    elif pk_set is not None:  # material.products.add(...): those products
        forget_product_infos(product_ids=pk_set)
    else:  # material.products.clear(): every product that may have had it
        forget_product_infos(product_ids=Product.objects.values_list("pk", flat=True))
