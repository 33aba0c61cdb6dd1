"""The approval queue's link for admin templates (the index, the line designs' list)."""

from django import template
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from personalization import approval
from personalization.models import LineDesign

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_queue_summary(context, site=None) -> dict | None:
    """``{"waiting": n, "url": ...}`` for a user who may review designs (on their brands), else None."""
    request = context.get("request")
    site = site or admin.site
    if request is None or not site.is_registered(LineDesign):
        return None
    model_admin = site.get_model_admin(LineDesign)
    if not model_admin.has_review_permission(request):
        return None
    try:
        url = reverse(f"{site.name}:personalization_linedesign_approval")
    except NoReverseMatch:
        return None
    return {"waiting": approval.approval_queue(model_admin.get_queryset(request)).count(), "url": url}
