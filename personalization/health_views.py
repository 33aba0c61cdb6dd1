"""The health endpoints (thin: the checks are ``health``). Unauthenticated, never cached, GET/HEAD."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@never_cache
@require_safe
def healthz(request):
    """Liveness of the web process: it answers. No database, no cache."""
    return JsonResponse({"status": health.OK})


@never_cache
@require_safe
def readyz(request):
    """Every check (``health.system_health``): 200 when ok or degraded, 503 when one is failing."""
    report = health.system_health()
    return JsonResponse(report.as_dict(), status=503 if report.status == health.FAILING else 200)
