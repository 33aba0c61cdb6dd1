"""Admin for generations and frozen order designs: read-mostly; actions call services only."""

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.text import Truncator

from brand_guides.admin import swatch, thumbnail

from . import selectors, services
from .models import GenerationImage, GenerationRequest, IdempotencyKey, LineDesign

Status = GenerationRequest.Status

STATUS_COLORS = {
    Status.QUEUED: "#6b7280",
    Status.RUNNING: "#2563eb",
    Status.SUCCEEDED: "#15803d",
    Status.FAILED: "#b91c1c",
    Status.REJECTED: "#b45309",
    Status.CANCELLED: "#4b5563",
}


class ReadOnlyAdminMixin:
    """Rows written only by services and workers: viewable, never added or edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class FlaggedImagesFilter(admin.SimpleListFilter):
    title = "flagged images"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return (("yes", "Has flagged images"), ("no", "No flagged images"))

    def queryset(self, request, queryset):
        flagged = Q(pk__in=GenerationImage.objects.filter(flagged=True).values("request_id"))
        if self.value() == "yes":
            return queryset.filter(flagged)
        if self.value() == "no":
            return queryset.exclude(flagged)
        return queryset


class GenerationImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = GenerationImage
    extra = 0
    fields = (
        "index",
        "image_thumbnail",
        "mockup_thumbnail",
        "seed",
        "reseeded_from",
        "size",
        "brand_consistency",
        "flagged",
        "quality_flags",
        "generation_seconds",
    )
    readonly_fields = fields

    @admin.display(description="Image")
    def image_thumbnail(self, obj: GenerationImage) -> str:
        return thumbnail(obj.image, size=96)

    @admin.display(description="Mockup")
    def mockup_thumbnail(self, obj: GenerationImage) -> str:
        return thumbnail(obj.mockup, size=96)

    @admin.display(description="Size")
    def size(self, obj: GenerationImage) -> str:
        return f"{obj.width} × {obj.height}"


@admin.register(GenerationRequest)
class GenerationRequestAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "short_description",
        "product",
        "brand",
        "status_badge",
        "progress_display",
        "created_at",
        "rating",
    )
    list_display_links = ("short_id", "short_description")
    list_filter = (
        "status",
        "brand",
        ("product__category", admin.RelatedOnlyFieldListFilter),
        FlaggedImagesFilter,
    )
    list_select_related = ("product", "brand")
    search_fields = ("description", "id")
    date_hierarchy = "created_at"
    actions = ["cancel_selected"]
    inlines = [GenerationImageInline]
    fieldsets = (
        (None, {"fields": ("id", "status_badge", "progress_display", "queue_info", "duration", "rating")}),
        ("Customer", {"fields": ("customer", "session_key")}),
        (
            "Choice",
            {
                "fields": (
                    "product",
                    "brand",
                    "color",
                    "material",
                    "style",
                    "description",
                    "reference_preview",
                    "strength",
                )
            },
        ),
        (
            "Parameters",
            {
                "fields": (
                    "steps",
                    "guidance_scale",
                    "seed",
                    "variations",
                    "width",
                    "height",
                    "model_name",
                    "scheduler_name",
                )
            },
        ),
        ("Prompts", {"fields": ("optimized_prompt", "negative_prompt")}),
        (
            "Worker",
            {
                "fields": (
                    "preview_image",
                    "attempts",
                    "worker",
                    "lease_expires_at",
                    "cancel_requested",
                    "cache_source",
                    "error_code",
                    "error_message",
                    "created_at",
                    "started_at",
                    "finished_at",
                )
            },
        ),
    )

    def has_add_permission(self, request) -> bool:
        return False  # requests are created by generation_request_create (storefront or API) only

    def has_change_permission(self, request, obj=None) -> bool:
        # Rows are written by services and the worker only: the change page is a read-only view
        # (no Save buttons; a POST to it answers 403). Viewing needs the view or change permission.
        return False

    def has_cancel_permission(self, request) -> bool:
        """Cancelling goes through the service; it needs the model's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_image_count=Count("images"))

    @admin.display(description="ID", ordering="id")
    def short_id(self, obj: GenerationRequest) -> str:
        return str(obj.id)[:8]

    @admin.display(description="Description", ordering="description")
    def short_description(self, obj: GenerationRequest) -> str:
        return Truncator(obj.description).chars(60)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: GenerationRequest) -> str:
        return format_html(
            '<span style="display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;'
            'background:{}">{}</span>',
            STATUS_COLORS.get(obj.status, "#6b7280"),
            obj.get_status_display(),
        )

    @admin.display(description="Progress")
    def progress_display(self, obj: GenerationRequest) -> str:
        return f"{obj.progress_step} / {obj.progress_total}"

    @admin.display(description="Duration")
    def duration(self, obj: GenerationRequest) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Queue")
    def queue_info(self, obj: GenerationRequest) -> str:
        if obj.is_terminal:
            return f"Finished ({obj.get_status_display().lower()})"
        eta = selectors.eta_seconds(obj)
        eta_text = f", about {eta:.0f} s left" if eta is not None else ""
        if obj.status == Status.QUEUED:
            return f"Position {selectors.queue_position(obj)} in the queue{eta_text}"
        lease = f", lease until {obj.lease_expires_at:%H:%M:%S}" if obj.lease_expires_at else ""
        return f"Running on {obj.worker or 'a worker'}{lease}{eta_text}"

    @admin.display(description="Base colour")
    def color(self, obj: GenerationRequest) -> str:
        return format_html(
            "{} {}", obj.base_color_name, swatch(obj.base_color_hex, title=obj.base_color_name)
        )

    @admin.display(description="Reference image")
    def reference_preview(self, obj: GenerationRequest) -> str:
        return thumbnail(obj.reference_image, size=128)

    @admin.display(description="Preview")
    def preview_image(self, obj: GenerationRequest) -> str:
        return thumbnail(obj.preview, size=128)

    change_list_template = "admin/personalization/generationrequest/change_list.html"

    def get_urls(self):
        from django.urls import path

        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="personalization_generationrequest_report"), *super().get_urls()]

    def report_view(self, request):
        """The per-category table (the paper's Table 2), from the same selector as the command."""
        from django.template.response import TemplateResponse

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Personalization report by category",
            "rows": selectors.category_report(),
        }
        return TemplateResponse(request, "admin/personalization/report.html", context)

    @admin.action(description="Cancel selected", permissions=["cancel"])
    def cancel_selected(self, request, queryset) -> None:
        cancelled, refused = 0, 0
        for generation in queryset:
            try:
                services.generation_request_cancel(generation=generation)
            except services.InvalidTransition:
                refused += 1
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request, f"Cancelled (or asked to stop) {cancelled} request(s).", messages.SUCCESS
            )
        if refused:
            self.message_user(
                request,
                f"{refused} request(s) had already finished and were left as they are.",
                messages.WARNING,
            )


@admin.register(LineDesign)
class LineDesignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("image_thumbnail", "order_line", "brand_name", "style_name", "seed", "created_at")
    list_filter = ("brand_name", "style_name", "created_at")
    search_fields = ("description", "optimized_prompt", "brand_name")
    list_select_related = ("order_line",)
    readonly_fields = ("image_preview", "mockup_preview", "reference_preview", "color", "palette")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "order_line",
                    "source_image",
                    "image_preview",
                    "mockup_preview",
                    "print_file",
                    "print_warnings",
                )
            },
        ),
        (
            "Frozen generation",
            {
                "fields": (
                    "description",
                    "optimized_prompt",
                    "negative_prompt",
                    "seed",
                    "steps",
                    "guidance_scale",
                    "width",
                    "height",
                    "strength",
                    "reference_preview",
                    "model_name",
                    "scheduler_name",
                )
            },
        ),
        (
            "Frozen brand and product",
            {
                "fields": (
                    "brand_name",
                    "palette",
                    "material_name",
                    "style_name",
                    "color",
                    "brand_consistency",
                    "print_area",
                    "created_at",
                )
            },
        ),
    )

    @admin.display(description="Design")
    def image_thumbnail(self, obj: LineDesign) -> str:
        return thumbnail(obj.image, size=48)

    @admin.display(description="Design")
    def image_preview(self, obj: LineDesign) -> str:
        return thumbnail(obj.image, size=256)

    @admin.display(description="Mockup")
    def mockup_preview(self, obj: LineDesign) -> str:
        return thumbnail(obj.mockup, size=256)

    @admin.display(description="Reference image")
    def reference_preview(self, obj: LineDesign) -> str:
        return thumbnail(obj.reference_image, size=128)

    @admin.display(description="Base colour")
    def color(self, obj: LineDesign) -> str:
        return format_html(
            "{} {}", obj.base_color_name, swatch(obj.base_color_hex, title=obj.base_color_name)
        )

    @admin.display(description="Brand palette")
    def palette(self, obj: LineDesign) -> str:
        items = [swatch(c.get("hex", ""), title=c.get("name", "")) for c in obj.brand_palette or []]
        return format_html(" ".join(["{}"] * len(items)), *items) if items else "-"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "scope", "user", "response_status", "created_at")
    list_filter = ("scope", "response_status")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)
