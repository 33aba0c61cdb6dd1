"""Admin for brand guides: display only, every write goes through the model forms' validation."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .access import sees_all_brands
from .admin_scoping import BrandScopedAdminMixin, SharedPresetsMixin
from .fonts import describe_missing
from .models import Brand, MaterialPreset, PaletteColor, ProtectedName, StylePreset, Typography

OWNER_ALL = ("view", "add", "change", "delete")


def swatch(hex_value: str, *, title: str = "") -> str:
    """A small coloured square followed by the hex code (shared by the plugin's and host's admins)."""
    if not hex_value:
        return "-"
    return format_html(
        '<span title="{}" style="display:inline-block;width:14px;height:14px;border:1px solid #888;'
        'border-radius:2px;vertical-align:middle;margin-right:4px;background:{}"></span><code>{}</code>',
        title or hex_value,
        hex_value,
        hex_value,
    )


def swatches(colors) -> str:
    """A row of small squares, one per (name, hex) pair."""
    return (
        format_html_join(
            "",
            '<span title="{} {}" style="display:inline-block;width:14px;height:14px;border:1px solid #888;'
            'border-radius:2px;margin-right:2px;background:{}"></span>',
            ((name, hex_, hex_) for name, hex_ in colors),
        )
        or "-"
    )


def thumbnail(file_field, *, size: int = 64) -> str:
    """An <img> preview of an image field, or a dash when empty."""
    if not file_field:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">'
        '<img src="{}" alt="" style="max-width:{}px;max-height:{}px;'
        'border:1px solid #ddd;background:#f6f6f6"></a>',
        file_field.url,
        file_field.url,
        size,
        size,
    )


class PaletteColorInline(admin.TabularInline):
    model = PaletteColor
    extra = 0
    owner_permissions = OWNER_ALL
    fields = ("name", "hex", "color_swatch", "role", "position")
    readonly_fields = ("color_swatch",)

    @admin.display(description="Swatch")
    def color_swatch(self, obj: PaletteColor) -> str:
        return swatch(obj.hex, title=obj.name) if obj.pk else "-"


class TypographyInline(admin.TabularInline):
    """A brand's fonts: an upload is checked (brand_guides.fonts) and what the file says about itself
    is read back; a bad file shows its error on the row."""

    model = Typography
    extra = 0
    fields = ("role", "font_family", "font_file", "font_read_back")
    readonly_fields = ("font_read_back",)
    owner_permissions = OWNER_ALL

    @admin.display(description="Read from the file")
    def font_read_back(self, obj: Typography) -> str:
        facts = obj.font_facts() if obj.pk else None
        if facts is None:
            return "-"
        coverage = (
            "covers the required characters"
            if not facts.missing
            else f"missing: {describe_missing(facts.missing)}"
        )
        return format_html(
            "{} {}<br><small>{}, {} glyphs; {}</small>",
            facts.family,
            facts.style,
            facts.format,
            facts.glyph_count,
            coverage,
        )


class ProtectedNameInline(admin.TabularInline):
    """Real people, living artists and characters this brand's customers may not name."""

    model = ProtectedName
    extra = 0
    fields = ("name", "kind", "outcome")
    owner_permissions = OWNER_ALL


@admin.register(Brand)
class BrandAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
    """Owners edit their own brands' guides; only superusers add or delete brands or change owners."""

    brand_path = "pk"
    owner_permissions = ("view", "change")
    list_display = ("name", "slug", "palette_swatches", "approval_policy", "min_consistency_score")
    list_filter = ("approval_policy", "harmonize_palette", "logo_anchor")
    search_fields = ("name", "slug", "description", "style_keywords", "banned_terms")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("owners",)
    readonly_fields = ("logo_preview", "revision", "created_at", "updated_at")
    inlines = [PaletteColorInline, TypographyInline, ProtectedNameInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "owners")}),
        ("Prompt guidance", {"fields": ("style_keywords", "negative_keywords", "harmonize_palette")}),
        (
            "Policy",
            {
                "fields": (
                    "banned_terms",
                    "trademark_allowlist",
                    "approval_policy",
                    "text_in_design_outcome",
                    "low_resolution",
                    "min_consistency_score",
                )
            },
        ),
        (
            "Logo",
            {"fields": ("logo", "logo_preview", "logo_anchor", "logo_max_share", "logo_clear_space_mm")},
        ),
        ("Model", {"fields": ("model_preset",)}),
        ("LoRA", {"fields": ("lora_weights", "lora_scale"), "classes": ("collapse",)}),
        ("Revision", {"fields": ("revision", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("palette")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if sees_all_brands(request.user) else (*fields, "owners")

    def has_add_permission(self, request) -> bool:
        return sees_all_brands(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return sees_all_brands(request.user) and super().has_delete_permission(request, obj)

    @admin.display(description="Palette")
    def palette_swatches(self, obj: Brand) -> str:
        return swatches((c.name, c.hex) for c in obj.palette.all())

    @admin.display(description="Logo preview")
    def logo_preview(self, obj: Brand) -> str:
        return thumbnail(obj.logo, size=120)


@admin.register(MaterialPreset)
class MaterialPresetAdmin(SharedPresetsMixin, admin.ModelAdmin):
    """Owners manage their brands' materials; shared ones (no brand) are for superusers."""

    brand_path = "brand"
    owner_permissions = OWNER_ALL
    list_display = ("name", "slug", "brand", "finish", "reflectance", "texture_description")
    list_filter = ("finish", "brand")
    list_select_related = ("brand",)
    search_fields = ("name", "slug", "texture_description", "prompt_keywords")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(StylePreset)
class StylePresetAdmin(SharedPresetsMixin, admin.ModelAdmin):
    """Owners manage their brands' styles; shared ones (no brand) are for superusers."""

    brand_path = "brand"
    owner_permissions = OWNER_ALL
    list_display = ("thumbnail_preview", "name", "slug", "brand", "position")
    list_filter = ("brand",)
    list_select_related = ("brand",)
    list_display_links = ("thumbnail_preview", "name")
    list_editable = ("position",)
    search_fields = ("name", "slug", "prompt_template")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("thumbnail_large",)
    fields = (
        "name",
        "slug",
        "brand",
        "prompt_template",
        "negative_template",
        "thumbnail",
        "thumbnail_large",
        "position",
    )

    @admin.display(description="Thumbnail")
    def thumbnail_preview(self, obj: StylePreset) -> str:
        return thumbnail(obj.thumbnail, size=48)

    @admin.display(description="Preview")
    def thumbnail_large(self, obj: StylePreset) -> str:
        return thumbnail(obj.thumbnail, size=160)
