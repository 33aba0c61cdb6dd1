"""Admin for generations and frozen order designs: read-mostly; actions call services only.

Generation requests and frozen designs are brand-scoped (brand_guides.admin_scoping): a shop owner
sees their brands' rows only, in lists, actions, the report and by URL. Idempotency records belong
to no brand: superusers only."""

import json
from collections import Counter
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Prefetch, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.text import Truncator

from apikit.models import IdempotencyKey
from brand_guides.access import sees_all_brands
from brand_guides.admin import swatch, thumbnail
from brand_guides.admin_scoping import BrandScopedAdminMixin, SuperuserOnlyAdminMixin

from . import approval, emails, eta, print_queue, review, selectors, services
from .conf import conf
from .hosts import host
from .models import (
    EmailNotification,
    GenerationImage,
    GenerationRequest,
    LineDesign,
    UsageCounter,
    WorkerHeartbeat,
)

Status = GenerationRequest.Status
ReviewState = GenerationRequest.ReviewState
LineReviewState = LineDesign.ReviewState

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


class ProductCategoryFilter(admin.SimpleListFilter):
    """The category of the request's product, as the host adapter describes it
    (``ProductInfo.category_slug`` / ``category_name``), among the requests this user may see."""

    title = "product category"
    parameter_name = "category"

    @staticmethod
    def _infos(queryset) -> dict:
        return selectors.product_infos_by_pk(queryset.order_by().values_list("product", flat=True).distinct())

    def lookups(self, request, model_admin):
        infos = self._infos(model_admin.get_queryset(request)).values()
        names = {
            info.category_slug: info.category_name or info.category_slug
            for info in infos
            if info.category_slug
        }
        return sorted(names.items(), key=lambda item: item[1].casefold())

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        infos = self._infos(queryset)
        return queryset.filter(
            product__in=[pk for pk, info in infos.items() if info.category_slug == self.value()]
        )


class CreatedWithinFilter(admin.SimpleListFilter):
    """When the request was submitted: today (the shop's time zone), the past 7 or 30 days."""

    title = "submitted"
    parameter_name = "created"
    DAYS = {"7d": 7, "30d": 30}

    def lookups(self, request, model_admin):
        return (("today", "Today"), ("7d", "Past 7 days"), ("30d", "Past 30 days"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "today":
            midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
            return queryset.filter(created_at__gte=midnight)
        if self.value() in self.DAYS:
            return queryset.filter(created_at__gte=now - timedelta(days=self.DAYS[self.value()]))
        return queryset


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


class RejectHeldForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown to the customer on their design.",
        error_messages={"required": "Say why these designs are rejected (the customer sees it)."},
    )


class GenerationImageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = GenerationImage
    extra = 0
    owner_permissions = ("view",)
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
        "safety_result",
        "generation_seconds",
    )
    readonly_fields = fields

    @admin.display(description="Safety check")
    def safety_result(self, obj: GenerationImage) -> str:
        if not obj.safety:
            return "-"
        return format_html(
            '<pre style="margin:0;white-space:pre-wrap;max-width:28em">{}</pre>',
            json.dumps(obj.safety, indent=1, sort_keys=True, ensure_ascii=False),
        )

    @admin.display(description="Image")
    def image_thumbnail(self, obj: GenerationImage) -> str:
        return thumbnail(obj.image, size=96)

    @admin.display(description="Mockup")
    def mockup_thumbnail(self, obj: GenerationImage) -> str:
        return thumbnail(obj.mockup, size=96)

    @admin.display(description="Size")
    def size(self, obj: GenerationImage) -> str:
        return f"{obj.width} × {obj.height}"


def reason_page(model_admin, request, *, title: str, rows, skipped: int, form, action: str):
    """The intermediate page of a "reject with a reason" action (``action``, its name): the rows it
    applies to and the reason form; the template is the model's ``<model_name>/<action>.html``, which
    extends ``admin/personalization/reject_with_reason.html``."""
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "rows": rows,
        "skipped": skipped,
        "form": form,
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    template = f"admin/{opts.app_label}/{opts.model_name}/{action}.html"
    return TemplateResponse(request, template, context)


@admin.register(GenerationRequest)
class GenerationRequestAdmin(BrandScopedAdminMixin, admin.ModelAdmin):
    brand_path = "brand"
    owner_permissions = ("view", "change")
    list_display = (
        "short_id",
        "image_thumbnail",
        "mockup_thumbnail",
        "short_description",
        "product",
        "brand",
        "status_badge",
        "brand_score",
        "timings",
        "review_state",
        "progress_display",
        "created_at",
        "rating",
    )
    list_display_links = ("short_id", "short_description")
    list_filter = (
        "status",
        "review_state",
        "brand",
        ProductCategoryFilter,
        CreatedWithinFilter,
        "preset",
        FlaggedImagesFilter,
    )
    list_select_related = ("product", "brand")
    search_fields = ("description", "optimized_prompt", "negative_prompt", "id")
    date_hierarchy = "created_at"
    actions = ["retry_selected", "cancel_selected", "approve_held", "reject_held"]
    inlines = [GenerationImageInline]
    fieldsets = (
        (None, {"fields": ("id", "status_badge", "progress_display", "queue_info", "duration", "rating")}),
        ("Review", {"fields": ("review_state", "review_reason")}),
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
                    "preset",
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

    def has_review_permission(self, request) -> bool:
        """Approving or rejecting held designs: the change permission, like cancelling."""
        return self.has_cancel_permission(request)

    def has_retry_permission(self, request) -> bool:
        """Retrying goes through the service too: the change permission, like cancelling."""
        return self.has_cancel_permission(request)

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def get_queryset(self, request):
        # Ordered explicitly: a grouped queryset drops the model's default ordering (autocomplete pages).
        # The images of a whole page in one query (the thumbnail columns read the first one).
        return (
            super()
            .get_queryset(request)
            .annotate(_image_count=Count("images"), _brand_score=Max("images__brand_consistency"))
            .prefetch_related(Prefetch("images", queryset=GenerationImage.objects.order_by("index")))
            .order_by("-created_at", "pk")
        )

    @staticmethod
    def _first_image(obj: GenerationRequest) -> GenerationImage | None:
        images = obj.images.all()  # prefetched, by index
        return images[0] if images else None

    @admin.display(description="Image")
    def image_thumbnail(self, obj: GenerationRequest) -> str:
        first = self._first_image(obj)
        return thumbnail(first.image, size=48) if first is not None else "-"

    @admin.display(description="Mockup")
    def mockup_thumbnail(self, obj: GenerationRequest) -> str:
        first = self._first_image(obj)
        return thumbnail(first.mockup, size=48) if first is not None else "-"

    @admin.display(description="Brand score (best image, 0-100)", ordering="_brand_score")
    def brand_score(self, obj: GenerationRequest) -> str:
        score = getattr(obj, "_brand_score", None)
        return "-" if score is None else f"{score:.0f}"

    @admin.display(description="Timings (queue wait · generation)")
    def timings(self, obj: GenerationRequest) -> str:
        """Queue wait = started - submitted (so far, while queued); generation = finished - started.
        A request answered from an identical earlier one's images says "cache"."""
        if obj.cache_source_id is not None:
            return "cache"
        if obj.started_at is None:
            if obj.status == Status.QUEUED:
                return f"waiting {_seconds((timezone.now() - obj.created_at).total_seconds())}"
            return "-"
        wait = _seconds((obj.started_at - obj.created_at).total_seconds())
        if obj.finished_at is None:
            return f"{wait} · running"
        return f"{wait} · {_seconds((obj.finished_at - obj.started_at).total_seconds())}"

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
        phase = f" ({obj.get_phase_display().lower()})" if obj.status == Status.RUNNING and obj.phase else ""
        return f"{obj.progress_step} / {obj.progress_total}{phase}"

    @admin.display(description="Duration")
    def duration(self, obj: GenerationRequest) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Queue")
    def queue_info(self, obj: GenerationRequest) -> str:
        if obj.is_terminal:
            return f"Finished ({obj.get_status_display().lower()})"
        wait = eta.wait_for(obj)
        eta_text = f", about {wait.eta_seconds:.0f} s left" if wait.eta_seconds is not None else ""
        if obj.status == Status.QUEUED:
            return f"Position {wait.position} in the queue{eta_text}"
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

        from .admin_dashboard import dashboard_view

        report = self.admin_site.admin_view(self.report_view)
        site = self.admin_site
        dashboard = site.admin_view(lambda request: dashboard_view(request, site=site))
        return [
            path("report/", report, name="personalization_generationrequest_report"),
            path("dashboard/", dashboard, name="personalization_dashboard"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        """The per-category table (the paper's Table 2), from the same selector as the command,
        over the requests this user may see."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        requests = self.scoped(request, GenerationRequest.objects.all())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Personalization report by category",
            "rows": selectors.category_report(requests=requests),
        }
        return TemplateResponse(request, "admin/personalization/report.html", context)

    @admin.action(
        description="Retry selected (failed for the shop's reasons, or cancelled)", permissions=["retry"]
    )
    def retry_selected(self, request, queryset) -> None:
        retried, refusals = 0, Counter()
        for generation in queryset:
            try:
                services.generation_request_retry(generation=generation)
            except services.InvalidTransition as exc:
                refusals[str(exc)] += 1
            else:
                retried += 1
        if retried:
            self.message_user(request, f"Queued {retried} request(s) again.", messages.SUCCESS)
        for reason, count in refusals.items():
            self.message_user(
                request, f"{count} request(s) were left as they are: {reason}", messages.WARNING
            )

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

    @admin.action(description="Approve held designs", permissions=["review"])
    def approve_held(self, request, queryset) -> None:
        approved, skipped = 0, 0
        for generation in queryset:
            try:
                review.generation_review_approve(generation=generation)
            except review.ReviewNotPending:
                skipped += 1
            else:
                approved += 1
        self._report_review(request, "Approved", approved, skipped)

    @admin.action(description="Reject held designs", permissions=["review"])
    def reject_held(self, request, queryset):
        """Asks for the reason on an intermediate page, then rejects each held request with it."""
        held = queryset.filter(review_state=ReviewState.PENDING)
        if not held.exists():
            self.message_user(request, "None of the selected designs is held for review.", messages.WARNING)
            return None
        form = RejectHeldForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            rejected, skipped = 0, 0
            for generation in queryset:
                try:
                    review.generation_review_reject(generation=generation, reason=form.cleaned_data["reason"])
                except review.ReviewNotPending:
                    skipped += 1
                else:
                    rejected += 1
            self._report_review(request, "Rejected", rejected, skipped)
            return None
        return reason_page(
            self,
            request,
            title="Reject held designs",
            rows=held,
            skipped=queryset.count() - held.count(),
            form=form,
            action="reject_held",
        )

    def _report_review(self, request, verb: str, done: int, skipped: int) -> None:
        if done:
            self.message_user(request, f"{verb} {done} held design(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} request(s) were not finished designs held for review and were left as "
                "they are (a held design can be approved once it has finished).",
                messages.WARNING,
            )


REVIEW_COLORS = {
    LineReviewState.PENDING: "#b45309",
    LineReviewState.APPROVED: "#15803d",
    LineReviewState.REJECTED: "#b91c1c",
}
QUEUE_PAGE_SIZE = 50


class LineRejectForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The customer reads it on their order and in the email.",
        error_messages={"required": "Say why this design is rejected (the customer reads it)."},
    )


class LineRegenerateForm(forms.Form):
    prompt = forms.CharField(
        max_length=approval.PROMPT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text="The prompt the design is made again with. The customer's own words are kept.",
        error_messages={"required": "Write the prompt to generate with."},
    )
    new_seed = forms.BooleanField(
        required=False,
        label="New seed",
        help_text="Unticked: the same seed, so only the prompt changes the picture.",
    )


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form it came from (unknown keys as non-field errors)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, field_messages in errors.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _log_rows(design: LineDesign) -> list[dict]:
    """The review log, oldest first, for the page: when, who, what, and the rest of each entry."""
    rows = []
    for entry in design.review_log or []:
        if not isinstance(entry, dict):
            continue
        details = {k: v for k, v in entry.items() if k not in {"at", "by", "action"}}
        rows.append(
            {
                "at": parse_datetime(str(entry.get("at") or "")),
                "by": entry.get("by") or "",
                "action": entry.get("action") or "",
                "details": details,
            }
        )
    return rows


class PrintFileFilter(admin.SimpleListFilter):
    """Line designs by their print file: ready, being made, or failed (given up: retry it)."""

    title = "print file"
    parameter_name = "print_file_state"

    def lookups(self, request, model_admin):
        return list(print_queue.PRINT_STATES.items())

    def queryset(self, request, queryset):
        if self.value() in print_queue.PRINT_STATES:
            return print_queue.with_print_state(queryset, self.value())
        return queryset


@admin.register(LineDesign)
class LineDesignAdmin(BrandScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Frozen designs of placed order lines, and the approval queue (personalization.approval): the
    brand's staff with the change permission approve, reject or regenerate waiting designs; the rows
    themselves are never edited here."""

    brand_path = "brand"
    # "change" is the permission to review (approve, reject, regenerate), like held requests above.
    owner_permissions = ("view", "change")
    list_display = (
        "image_thumbnail",
        "order_line",
        "brand_name",
        "review_state_badge",
        "review_link",
        "print_status",
        "style_name",
        "preset",
        "seed",
        "created_at",
    )
    list_filter = ("review_state", PrintFileFilter, "brand_name", "style_name", "preset", "created_at")
    search_fields = ("description", "optimized_prompt", "brand_name")
    list_select_related = ("order_line",)
    actions = ["approve_selected", "reject_selected", "retry_print_files"]
    change_list_template = "admin/personalization/linedesign/change_list.html"
    readonly_fields = (
        "image_preview",
        "mockup_preview",
        "reference_preview",
        "color",
        "palette",
        "print_downloads",
        "print_status",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "order_line",
                    "source_image",
                    "image_preview",
                    "mockup_preview",
                    "print_downloads",
                    "print_status",
                    "print_file",
                    "print_pdf",
                    "print_warnings",
                )
            },
        ),
        (
            "Review",
            {
                "fields": (
                    "review_state",
                    "review_reason",
                    "reviewed_at",
                    "reviewed_by",
                    "regeneration",
                    "review_log",
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
                    "preset",
                    "model_name",
                    "scheduler_name",
                    "recipe",
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

    def has_review_permission(self, request, obj=None) -> bool:
        """Approving, rejecting and regenerating: the model's change permission, on the user's brands."""
        opts = self.opts
        allowed = request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")
        return allowed and self.in_scope(request, obj)

    @admin.display(description="Design")
    def image_thumbnail(self, obj: LineDesign) -> str:
        return thumbnail(obj.image, size=48)

    @admin.display(description="Review", ordering="review_state")
    def review_state_badge(self, obj: LineDesign) -> str:
        return format_html(
            '<span style="display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;'
            'background:{}">{}</span>',
            REVIEW_COLORS.get(obj.review_state, "#6b7280"),
            obj.get_review_state_display(),
        )

    @admin.display(description="")
    def review_link(self, obj: LineDesign) -> str:
        label = "Review" if obj.review_state == LineReviewState.PENDING else "Details"
        return format_html('<a href="{}">{}</a>', self._review_url(obj), label)

    @admin.display(description="Design")
    def image_preview(self, obj: LineDesign) -> str:
        return thumbnail(obj.image, size=256)

    @admin.display(description="Mockup")
    def mockup_preview(self, obj: LineDesign) -> str:
        return thumbnail(obj.mockup, size=256)

    @admin.display(description="Print files")
    def print_downloads(self, obj: LineDesign) -> str:
        return print_downloads(obj)

    @admin.display(description="Print file")
    def print_status(self, obj: LineDesign) -> str:
        return print_status(obj)

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

    # --- the approval queue and the review page -------------------------------------------------

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "approval/",
                self.admin_site.admin_view(self.approval_queue_view),
                name="{}_{}_approval".format(*info),
            ),
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="{}_{}_review".format(*info),
            ),
            *super().get_urls(),
        ]

    def _review_url(self, design: LineDesign) -> str:
        return reverse(f"{self.admin_site.name}:personalization_linedesign_review", args=[design.pk])

    def _queue_url(self) -> str:
        return reverse(f"{self.admin_site.name}:personalization_linedesign_approval")

    def _waiting(self, request):
        return approval.approval_queue(self.get_queryset(request))

    def approval_queue_view(self, request):
        """The designs waiting for a decision, oldest first, on the user's brands."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        waiting = self._waiting(request).select_related("order_line", "regeneration")
        page = Paginator(waiting, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = []
        for design in page:
            contact = host().order_line_contact(design.order_line)
            rows.append(
                {
                    "design": design,
                    "order_number": contact.order_number,
                    "product": contact.product_name or str(design.order_line),
                    "review_url": self._review_url(design),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Approval queue",
            "page": page,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/personalization/linedesign/approval_queue.html", context)

    def review_view(self, request, object_id):
        """One design side by side with its mockup, print file, preflight, prompts and log; the forms
        approve, reject (with a reason) or regenerate (with the owner's prompt)."""
        from django.contrib.admin.utils import unquote

        design = self.get_object(request, unquote(object_id))  # 404 outside the user's brands
        if not self.has_review_permission(request, design):
            raise PermissionDenied
        approval.line_regeneration_settle(design=design)
        reject_form = LineRejectForm()
        regenerate_form = LineRegenerateForm(initial={"prompt": design.optimized_prompt})
        if request.method == "POST":
            decision = request.POST.get("decision", "")
            try:
                if decision == "approve":
                    approval.line_design_approve(design=design, user=request.user)
                    return self._decided(request, design, "Approved")
                if decision == "reject":
                    reject_form = LineRejectForm(request.POST)
                    if reject_form.is_valid():
                        approval.line_design_reject(
                            design=design, reason=reject_form.cleaned_data["reason"], user=request.user
                        )
                        return self._decided(request, design, "Rejected")
                elif decision == "regenerate":
                    regenerate_form = LineRegenerateForm(request.POST)
                    if regenerate_form.is_valid():
                        approval.line_design_regenerate(
                            design=design, user=request.user, **regenerate_form.cleaned_data
                        )
                        self.message_user(
                            request,
                            "Regenerating the design with your prompt: this page shows it when it is in.",
                            messages.SUCCESS,
                        )
                        return HttpResponseRedirect(self._review_url(design))
                else:
                    self.message_user(request, "Choose to approve, reject or regenerate.", messages.ERROR)
                    return HttpResponseRedirect(self._review_url(design))
            except approval.NotPendingReview as exc:
                self.message_user(request, str(exc), messages.WARNING)
                return HttpResponseRedirect(self._review_url(design))
            except ValidationError as exc:
                _add_service_errors(reject_form if decision == "reject" else regenerate_form, exc)
        return TemplateResponse(
            request,
            "admin/personalization/linedesign/review.html",
            self._review_context(request, design, reject_form, regenerate_form),
        )

    def _review_context(self, request, design: LineDesign, reject_form, regenerate_form) -> dict:
        contact = host().order_line_contact(design.order_line)
        regeneration = design.regeneration
        log = _log_rows(design)
        waiting = self._waiting(request)
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": design,
            "title": f"Review the design of order {contact.order_number}".strip(),
            "design": design,
            "contact": contact,
            "review": approval.line_review(design),
            "pending": design.review_state == LineReviewState.PENDING,
            "regeneration": regeneration,
            "regenerating": regeneration is not None and not regeneration.is_terminal,
            "log": log,
            "owner_edits": [row for row in log if row["action"] == "regenerate"],
            "reject_form": reject_form,
            "regenerate_form": regenerate_form,
            "waiting_count": waiting.count(),
            "next_design": waiting.exclude(pk=design.pk).first(),
            "queue_url": self._queue_url(),
        }

    def _decided(self, request, design: LineDesign, verb: str):
        """After a decision: on to the next waiting design, or back to the queue when none is left."""
        contact = host().order_line_contact(design.order_line)
        order = f" of order {contact.order_number}" if contact.order_number else ""
        self.message_user(request, f"{verb} the design{order}.", messages.SUCCESS)
        following = self._waiting(request).exclude(pk=design.pk).first()
        return HttpResponseRedirect(self._review_url(following) if following else self._queue_url())

    # --- changelist actions ---------------------------------------------------------------------

    @admin.action(description="Approve selected", permissions=["review"])
    def approve_selected(self, request, queryset) -> None:
        approved, skipped = 0, 0
        for design in queryset:
            try:
                approval.line_design_approve(design=design, user=request.user)
            except approval.NotPendingReview:
                skipped += 1
            else:
                approved += 1
        self._report_decisions(request, "Approved", approved, skipped)

    @admin.action(description="Reject selected", permissions=["review"])
    def reject_selected(self, request, queryset):
        """Asks for the reason on an intermediate page, then rejects each waiting design with it."""
        waiting = approval.approval_queue(queryset)
        if not waiting.exists():
            self.message_user(
                request, "None of the selected designs is waiting for review.", messages.WARNING
            )
            return None
        form = LineRejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            rejected, skipped = 0, 0
            for design in queryset:
                try:
                    approval.line_design_reject(
                        design=design, reason=form.cleaned_data["reason"], user=request.user
                    )
                except approval.NotPendingReview:
                    skipped += 1
                except ValidationError as exc:
                    _add_service_errors(form, exc)
                    break
                else:
                    rejected += 1
            if form.is_valid():
                self._report_decisions(request, "Rejected", rejected, skipped)
                return None
        return reason_page(
            self,
            request,
            title="Reject selected designs",
            rows=waiting,
            skipped=queryset.count() - waiting.count(),
            form=form,
            action="reject_selected",
        )

    @admin.action(description="Retry failed print files", permissions=["review"])
    def retry_print_files(self, request, queryset) -> None:
        retried, skipped = 0, 0
        for design in queryset:
            try:
                print_queue.line_design_print_retry(design=design)
            except print_queue.NotPrintFailed:
                skipped += 1
            else:
                retried += 1
        if retried:
            self.message_user(
                request,
                f"Retrying the print file of {retried} design(s): a worker makes it now.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} design(s) had no failed print file and were left as they are.",
                messages.WARNING,
            )

    def _report_decisions(self, request, verb: str, done: int, skipped: int) -> None:
        if done:
            self.message_user(request, f"{verb} {done} design(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} design(s) were not waiting for review (or their regeneration was still "
                "running) and were left as they are.",
                messages.WARNING,
            )


def print_status(design: LineDesign) -> str:
    """Admin HTML: the print file's state; a failed one with its code and message (retry it with the
    "Retry failed print files" action), a pending one with its tries so far."""
    state = print_queue.print_state(design)
    if state == "failed":
        return format_html(
            '<strong style="color:#b91c1c" title="{}">Failed: {}</strong> ({} tries)',
            design.print_job_error_message,
            design.print_job_error_code,
            design.print_job_attempts,
        )
    if state == "pending" and design.print_job_error_code:
        return format_html(
            'Being made (try {} failed: <span title="{}">{}</span>)',
            design.print_job_attempts,
            design.print_job_error_message,
            design.print_job_error_code,
        )
    return print_queue.PRINT_STATES[state]


def print_downloads(design: LineDesign) -> str:
    """Admin HTML: download links of a design's print PNG and PDF (served by the private-file view,
    which lets the brand's staff through), or "pending" while the print job has not written them;
    none for a failed print job (``print_status`` says why)."""
    if design.print_job_failed_at is not None:
        return "Failed: none given out"
    links = [
        format_html('<a href="{}" download>{}</a>', field.url, label) if field else f"{label}: pending"
        for label, field in (("Print PNG", design.print_file), ("Print PDF", design.print_pdf))
    ]
    return format_html(" · ".join(["{}"] * len(links)), *links)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "scope", "user", "response_status", "created_at")
    list_filter = ("scope", "response_status")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)


@admin.register(UsageCounter)
class UsageCounterAdmin(SuperuserOnlyAdminMixin, admin.ModelAdmin):
    """Rate-limit and quota windows (keys hold salted hashes, never addresses): superusers may look
    and delete a window to give a customer their quota back; rows are written by limits.py only."""

    list_display = ("key", "window_start", "expires_at", "count")
    search_fields = ("key",)
    date_hierarchy = "window_start"
    readonly_fields = ("key", "window_start", "expires_at", "count")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EmailNotification)
class EmailNotificationAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customer emails (personalization.emails), one row each: whether and when it went out, how many
    tries, the last error. Written by the email task only."""

    list_display = ("kind", "key", "to", "status", "attempts", "created_at", "claimed_at", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("key", "to")
    date_hierarchy = "created_at"
    actions = ["send_again"]

    def has_resend_permission(self, request) -> bool:
        return sees_all_brands(request.user)

    @admin.action(description="Send again (failed, given up or sent)", permissions=["resend"])
    def send_again(self, request, queryset) -> None:
        """Back to pending and queued (emails.email_resend): the email worker sends, not this request."""
        queued, refusals = 0, Counter()
        for notification in queryset:
            try:
                emails.email_resend(notification=notification)
            except emails.EmailNotResendable as exc:
                refusals[str(exc)] += 1
            else:
                queued += 1
        if queued:
            self.message_user(request, f"Queued {queued} email(s) to be sent again.", messages.SUCCESS)
        for reason, count in refusals.items():
            self.message_user(request, f"{count} email(s) were left as they are: {reason}", messages.WARNING)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(SuperuserOnlyAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The GPU worker processes' heartbeats (personalization.heartbeat): which are alive, busy, or
    were killed by the watchdog. Written by the workers only; GET /readyz reads the same rows."""

    list_display = ("worker", "host", "pid", "state", "started_at", "last_seen", "seen_ago")
    list_filter = ("state", "host")
    search_fields = ("worker", "host")

    @admin.display(description="Seen", ordering="-last_seen")
    def seen_ago(self, obj: WorkerHeartbeat) -> str:
        seconds = (timezone.now() - obj.last_seen).total_seconds()
        stale = seconds > conf.WORKER_STALE_SECONDS
        return f"{seconds:.0f} s ago" + (" (stale)" if stale else "")
