"""Admin for the host shop: display only; writes go through the model forms' validation.

Products, orders and carts are brand-scoped (brand_guides.admin_scoping): a shop owner sees only
their brands' products and the orders (and, on an order's page, the lines) that contain them.
Categories are shared catalogue data: managed by staff with category permissions (not shop owners);
every owner may file a product under any category."""

import tempfile

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.http import FileResponse
from django.utils import timezone
from django.utils.html import format_html

from personalization.interface import (
    OWNER_ALL,
    BrandScopedAdminMixin,
    ScopedInlineMixin,
    print_area_spec,
    print_downloads,
    scope_q,
    sees_all_brands,
    swatch,
    swatches,
    thumbnail,
)

from .fulfilment import may_export, orders_for_fulfilment, orders_zip
from .models import BaseColor, Cart, CartLine, Category, Order, OrderLine, Product
from .personalization_host import ShopHost


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "product_count")
    list_editable = ("position",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, obj: Category) -> int:
        return obj._product_count


class BaseColorInline(admin.TabularInline):
    model = BaseColor
    extra = 0
    owner_permissions = OWNER_ALL
    fields = ("name", "hex", "color_swatch", "position")
    readonly_fields = ("color_swatch",)

    @admin.display(description="Swatch")
    def color_swatch(self, obj: BaseColor) -> str:
        return swatch(obj.hex, title=obj.name) if obj.pk else "-"


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ("brand", "allowed_materials")  # the admin adds the rest of its fieldsets

    def clean(self):
        data = super().clean()
        brand, materials = data.get("brand"), data.get("allowed_materials")
        if brand is not None and materials is not None:
            foreign = [m.name for m in materials if m.brand_id not in (None, brand.pk)]
            if foreign:
                self.add_error(
                    "allowed_materials",
                    f"These materials belong to another brand: {', '.join(foreign)}. "
                    f"Choose shared materials or {brand.name}'s own.",
                )
        return data


@admin.register(Product)
class ProductAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
    brand_path = "brand"
    owner_permissions = OWNER_ALL
    form = ProductAdminForm
    list_display = (
        "mockup_thumbnail",
        "name",
        "product_type",
        "category",
        "brand",
        "price",
        "color_swatches",
        "is_published",
    )
    list_display_links = ("mockup_thumbnail", "name")
    list_filter = ("is_published", "category", "brand")
    list_select_related = ("category", "brand")
    search_fields = ("name", "slug", "product_type", "description")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("allowed_materials",)
    readonly_fields = ("print_area_summary", "mockup_preview", "created_at", "updated_at")
    inlines = [BaseColorInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "slug",
                    "brand",
                    "category",
                    "product_type",
                    "description",
                    "price",
                    "is_published",
                    "model_preset",
                )
            },
        ),
        (
            "Print area",
            {
                "fields": (
                    "print_area_summary",
                    "print_width_mm",
                    "print_height_mm",
                    "print_dpi",
                    "min_dpi",
                    "safe_margin_mm",
                )
            },
        ),
        ("Materials", {"fields": ("allowed_materials",)}),
        (
            "Mockup",
            {
                "fields": (
                    "mockup_template",
                    "mockup_preview",
                    "mockup_box_left",
                    "mockup_box_top",
                    "mockup_box_width",
                    "mockup_box_height",
                )
            },
        ),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("base_colors")

    @admin.display(description="Colours")
    def color_swatches(self, obj: Product) -> str:
        return swatches((c.name, c.hex) for c in obj.base_colors.all())

    @admin.display(description="Mockup")
    def mockup_thumbnail(self, obj: Product) -> str:
        return thumbnail(obj.mockup_template, size=48)

    @admin.display(description="Print size")
    def print_area_summary(self, obj: Product) -> str:
        if obj.pk is None:
            return "-"
        try:
            width_px, height_px = print_area_spec(ShopHost().product_info(obj)).pixel_size()
        except (TypeError, ValueError) as exc:
            return f"Invalid print area: {exc}"
        return (
            f"{obj.print_width_mm:g} × {obj.print_height_mm:g} mm at {obj.print_dpi} dpi "
            f"= {width_px} × {height_px} px (safe margin {obj.safe_margin_mm:g} mm)"
        )

    @admin.display(description="Mockup preview")
    def mockup_preview(self, obj: Product) -> str:
        """The template with its print box outlined (CSS percentages of the picture)."""
        if not obj.mockup_template:
            return "-"
        return format_html(
            '<div style="position:relative;display:inline-block;width:240px;line-height:0;'
            'border:1px solid #ddd">'
            '<img src="{}" alt="" style="width:240px;height:auto">'
            '<span title="Print area" style="position:absolute;left:{}%;top:{}%;width:{}%;height:{}%;'
            'border:2px dashed #d33;box-sizing:border-box"></span></div>',
            obj.mockup_template.url,
            round(obj.mockup_box_left * 100, 2),
            round(obj.mockup_box_top * 100, 2),
            round(obj.mockup_box_width * 100, 2),
            round(obj.mockup_box_height * 100, 2),
        )


# A line belongs to the brand of its product, or (the product deleted) of its frozen design.
ORDER_LINE_BRAND_PATHS = ("product__brand", "design__brand")


class CartLineInline(ScopedInlineMixin, admin.TabularInline):
    model = CartLine
    brand_path = "product__brand"
    extra = 0
    fields = ("product", "base_color", "quantity", "design", "design_thumbnail", "line_total")
    readonly_fields = ("design_thumbnail", "line_total")
    raw_id_fields = ("product", "base_color", "design")

    @admin.display(description="Design")
    def design_thumbnail(self, obj: CartLine) -> str:
        return thumbnail(obj.design.image) if obj.design_id else "-"

    @admin.display(description="Line total")
    def line_total(self, obj: CartLine):
        return obj.line_total if obj.pk else "-"


@admin.register(Cart)
class CartAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
    """Not part of the Shop owner group; scoped all the same for staff given cart permissions: a cart
    shows when it holds one of their products, with only those lines."""

    brand_path = "lines__product__brand"
    list_display = ("__str__", "user", "session_key", "line_count", "updated_at")
    search_fields = ("user__username", "user__email", "session_key")
    list_filter = ("updated_at",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at", "cart_total")
    inlines = [CartLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").annotate(_line_count=Count("lines"))

    @admin.display(description="Lines", ordering="_line_count")
    def line_count(self, obj: Cart) -> int:
        return obj._line_count

    @admin.display(description="Total")
    def cart_total(self, obj: Cart):
        return obj.total if obj.pk else "-"


class OrderLineInline(ScopedInlineMixin, admin.TabularInline):
    """Placed lines are frozen copies: shown, never edited here. A shop owner sees their lines only."""

    model = OrderLine
    brand_path = ORDER_LINE_BRAND_PATHS
    owner_permissions = ("view",)
    extra = 0
    can_delete = False
    fields = (
        "product_name",
        "product_type",
        "color",
        "quantity",
        "unit_price",
        "design_thumbnail",
        "mockup_thumbnail",
        "print_files",
        "design_seed",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("design")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Colour")
    def color(self, obj: OrderLine) -> str:
        return swatch(obj.base_color_hex, title=obj.base_color_name)

    @admin.display(description="Design")
    def design_thumbnail(self, obj: OrderLine) -> str:
        design = getattr(obj, "design", None)
        return thumbnail(design.image, size=96) if design else "-"

    @admin.display(description="Mockup")
    def mockup_thumbnail(self, obj: OrderLine) -> str:
        design = getattr(obj, "design", None)
        return thumbnail(design.mockup, size=96) if design else "-"

    @admin.display(description="Print files")
    def print_files(self, obj: OrderLine) -> str:
        design = getattr(obj, "design", None)
        return print_downloads(design) if design else "-"

    @admin.display(description="Seed")
    def design_seed(self, obj: OrderLine):
        design = getattr(obj, "design", None)
        return design.seed if design else "-"


@admin.register(Order)
class OrderAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
    """An order shows to a shop owner when it holds one of their brand's lines; its page lists only
    those lines, the totals count only those lines, and only the status may be changed (the
    customer's details serve every brand in the order)."""

    brand_path = tuple(f"lines__{path}" for path in ORDER_LINE_BRAND_PATHS)
    owner_permissions = ("view", "change")
    list_display = ("number", "full_name", "email", "status", "total", "line_count", "created_at")
    list_filter = ("status", "country", "created_at")
    search_fields = ("number", "full_name", "email", "postcode")
    date_hierarchy = "created_at"
    raw_id_fields = ("user",)
    readonly_fields = ("number", "checkout_token", "total", "created_at")
    inlines = [OrderLineInline]
    actions = ["export_for_print_on_demand"]
    owner_fields = (
        "number",
        "status",
        "full_name",
        "email",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "country",
        "lines_total",
        "created_at",
    )

    def has_add_permission(self, request) -> bool:
        return False  # orders are placed by shop.services.order_place (checkout) only

    def _lines_q(self, request):
        """The lines this user may see, as a filter on the order's ``lines`` (None: all)."""
        if sees_all_brands(request.user):
            return None
        return scope_q(request.user, self.brand_path)

    def get_queryset(self, request):
        visible = self._lines_q(request)
        amount = ExpressionWrapper(
            F("lines__unit_price") * F("lines__quantity"),
            output_field=DecimalField(max_digits=12, decimal_places=2),
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                _line_count=Count("lines", filter=visible, distinct=True),
                _lines_total=Sum(amount, filter=visible),
            )
            .order_by("-created_at", "pk")  # a grouped queryset drops the default ordering
        )

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        if sees_all_brands(request.user):
            return fields
        return tuple("lines_total" if name == "total" else name for name in fields)

    def get_fields(self, request, obj=None):
        return super().get_fields(request, obj) if sees_all_brands(request.user) else self.owner_fields

    def get_readonly_fields(self, request, obj=None):
        if sees_all_brands(request.user):
            return super().get_readonly_fields(request, obj)
        return tuple(name for name in self.owner_fields if name != "status")

    @admin.display(description="Lines", ordering="_line_count")
    def line_count(self, obj: Order) -> int:
        return obj._line_count

    @admin.display(description="Total of your lines", ordering="_lines_total")
    def lines_total(self, obj: Order):
        return getattr(obj, "_lines_total", None) or "0.00"

    @admin.action(description="Export for print-on-demand", permissions=["view"])
    def export_for_print_on_demand(self, request, queryset):
        """A ZIP of the selected orders: per order its print-on-demand document (order.json) and
        each personalized line's print PNG, print PDF and mockup (shop.fulfilment)."""
        orders = list(orders_for_fulfilment(queryset.order_by("number")))
        if not orders:
            self.message_user(request, "No orders to export.", messages.WARNING)
            return None
        refused = [order.number for order in orders if not may_export(request.user, order)]
        if refused:
            self.message_user(
                request,
                f"Not exported: {', '.join(refused)} also hold lines of brands you do not manage.",
                messages.ERROR,
            )
            return None
        archive = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (FileResponse closes it)
        orders_zip(orders, archive)
        archive.seek(0)
        name = (
            f"{orders[0].number}-print-on-demand.zip"
            if len(orders) == 1
            else f"print-on-demand-{timezone.now():%Y%m%d-%H%M%S}.zip"
        )
        return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
