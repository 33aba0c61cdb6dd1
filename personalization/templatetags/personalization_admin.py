"""The approval queue's link and the failed print files' for admin templates (index, line designs)."""

from django import template
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from personalization import approval, print_queue
from personalization.models import LineDesign

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_queue_summary(context, site=None) -> dict | None:
    """``{"waiting": n, "url": ..., "print_failed": m, "print_failed_url": ...}`` for a user who may
    review designs (on their brands), else None: the designs waiting for approval, and those whose
    print file failed (``personalization.print_jobs``: the owner retries them from the list)."""
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
    designs = model_admin.get_queryset(request)
    return {
        "waiting": approval.approval_queue(designs).count(),
        "url": url,
        "print_failed": print_queue.with_print_state(designs, "failed").count(),
        "print_failed_url": reverse(f"{site.name}:personalization_linedesign_changelist")
        + "?print_file_state=failed",
    }
