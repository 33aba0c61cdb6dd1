"""The admin dashboard (docs/DASHBOARD.md): ``/admin/personalization/generationrequest/dashboard/``,
URL name ``admin:personalization_dashboard``, linked from the admin index. For a chosen period and brand: the
paper's Table 2 per category, the cost table (Table 4) and the charts, drawn on the server.

Brand-scoped like the rest of the admin (brand_guides.admin_scoping): a shop owner may choose only
among their brands and sees only their brands' figures; a superuser sees every brand, all or one.
Users without the view (or change) permission on generation requests get 403. The URL comes with
the generation requests' ModelAdmin (``GenerationRequestAdmin.get_urls``), on whichever AdminSite
registers it."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from brand_guides.access import managed_brands, sees_all_brands
from brand_guides.admin_scoping import scoped_queryset
from brand_guides.models import Brand

from . import analytics
from .charts import dashboard_charts
from .models import GenerationRequest, LineDesign

DEFAULT_DAYS = 30
QUICK_DAYS = (7, 30, 90)
# The page draws every day of the period: a year at most; dates from 2000 on, a year ahead at most.
MAX_DAYS = 366
EARLIEST = date(2000, 1, 1)


class DashboardForm(forms.Form):
    since = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}), help_text="Whole days."
    )
    brand = forms.ModelChoiceField(
        queryset=Brand.objects.none(),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed brands."},
    )

    def __init__(self, data, *, brands, all_label: str, today: date) -> None:
        super().__init__(data)
        self.today = today
        self.fields["brand"].queryset = brands
        self.fields["brand"].empty_label = all_label
        self.period: analytics.Period | None = None

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since is None or until is None:
            return cleaned
        latest = self.today + timedelta(days=365)
        if not (EARLIEST <= since <= latest and EARLIEST <= until <= latest):
            raise forms.ValidationError(
                f"Choose dates between {EARLIEST.isoformat()} and {latest.isoformat()}."
            )
        if since > until:
            raise forms.ValidationError("The start date is after the end date.")
        if (until - since).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        self.period = analytics.period_for_dates(since=since, until=until)
        return cleaned


def _quick_links(request, today: date) -> list[dict]:
    brand = request.GET.get("brand", "")
    links = []
    for days in QUICK_DAYS:
        query = {"since": (today - timedelta(days=days - 1)).isoformat(), "until": today.isoformat()}
        if brand:
            query["brand"] = brand
        links.append({"days": days, "query": urlencode(query)})
    return links


def dashboard_view(request, *, site):
    """Thin: the form picks the period and brand; ``analytics.dashboard`` computes; charts draw."""
    model_admin = site.get_model_admin(GenerationRequest)
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    user, today = request.user, timezone.localdate()
    defaults = {
        "since": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "until": today.isoformat(),
        "brand": "",
    }
    all_label = "All brands" if sees_all_brands(user) else "All my brands"
    form = DashboardForm(
        {**defaults, **request.GET.dict()},
        brands=managed_brands(user).order_by("name"),
        all_label=all_label,
        today=today,
    )
    figures, charts = None, []
    if form.is_valid():
        figures = analytics.dashboard(
            period=form.period,
            brand=form.cleaned_data["brand"],
            requests=scoped_queryset(user, GenerationRequest.objects.all(), model_admin.brand_path),
            designs=scoped_queryset(user, LineDesign.objects.all(), "brand"),
        )
        charts = dashboard_charts(figures)
    context = {
        **site.each_context(request),
        "opts": GenerationRequest._meta,
        "title": "Personalization dashboard",
        "form": form,
        "figures": figures,
        "charts": charts,
        "quick_links": _quick_links(request, today),
    }
    return TemplateResponse(request, "admin/personalization/dashboard.html", context)
