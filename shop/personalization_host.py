"""The bundled shop as a host of the personalization plugin: what the plugin may know of a Product.

Named in ``settings.PERSONALIZATION["HOST_ADAPTER"]``. The plugin never reads a field of
``shop.Product`` by name; it asks this adapter for a plain ``ProductInfo`` (docs/PLUGIN.md).
"""

from django.db.models import prefetch_related_objects

from personalization.interface import BaseColor, HostAdapter, OrderLineContact, PrintArea, ProductInfo

from .models import Product

# What product_info reads beyond the row itself (one query each for a whole list of products).
RELATED = ("category", "base_colors", "allowed_materials")


class ShopHost(HostAdapter):
    def products(self):
        """Published products, with everything product_info reads."""
        return (
            Product.objects.published()
            .select_related("category")
            .prefetch_related("base_colors", "allowed_materials")
        )

    def product_info(self, product: Product) -> ProductInfo:
        return ProductInfo(
            pk=product.pk,
            slug=product.slug,
            name=product.name,
            category_slug=product.category.slug,
            category_name=product.category.name,
            product_type=product.product_type,
            brand_id=product.brand_id,
            base_colors=tuple(BaseColor(name=c.name, hex=c.hex) for c in product.base_colors.all()),
            print_area=PrintArea(
                width_mm=product.print_width_mm,
                height_mm=product.print_height_mm,
                dpi=product.print_dpi,
                min_dpi=product.min_dpi,
                safe_margin_mm=product.safe_margin_mm,
            ),
            price=product.price,
            currency="",  # the bundled shop has one, unnamed currency
            is_published=product.is_published,
            material_ids=tuple(m.pk for m in product.allowed_materials.all()),
            style_ids=(),  # the shop has no per-product styles: all that the brand may use
            mockup_template=product.mockup_template or None,
            mockup_box=product.mockup_box,
            model_preset=product.model_preset,
            url=product.get_absolute_url(),
        )

    def product_infos(self, products) -> list[ProductInfo]:
        products = list(products)
        prefetch_related_objects(products, *RELATED)
        return [self.product_info(p) for p in products]

    def order_line_owner(self, order_line) -> dict:
        return {"customer": order_line.order.user, "session_key": order_line.order.session_key}

    def order_line_contact(self, order_line) -> OrderLineContact:
        order = order_line.order
        return OrderLineContact(
            email=order.email,
            order_number=order.number,
            order_url=order.get_absolute_url(),
            product_name=order_line.product_name,
        )
