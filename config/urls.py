import posixpath

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from personalization.interface import BRAND_API_URLS, HEALTH_URLS, STUDIO_URLS, private_file

urlpatterns = [
    # GET /healthz (the web answers) and /readyz (database, cache, GPU workers, queue): docs/WORKER.md.
    path("", include(HEALTH_URLS)),
    path("admin/", admin.site.urls),
    # The token view (apikit) and the plugin's generations, one "api" namespace (config.api).
    path("api/v1/", include("config.api")),
    path("api/v1/", include(BRAND_API_URLS)),
    path("api/v1/", include("shop.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Both pages load their scripts from drf-spectacular-sidecar's static files (SPECTACULAR_SETTINGS).
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("personalize/", include(STUDIO_URLS)),
    # Customer files: checked per request, then handed to the web server (personalization.files).
    path("private-media/<path:name>", private_file, name="private_media"),
    path("", include("shop.urls")),
]

if not settings.STORAGES["default"]["BACKEND"].endswith("S3Storage"):
    from django.views.static import serve

    def serve_media(request, path):
        """Local public media: catalogue pictures only (PUBLIC_MEDIA_PREFIXES), MEDIA_ROOT read per
        request. Everything else under MEDIA_ROOT (LoRA weights, fonts) is never served. Behind a
        real web server, serve only these folders of MEDIA_ROOT there instead."""
        if posixpath.normpath(path) != path or not path.startswith(tuple(settings.PUBLIC_MEDIA_PREFIXES)):
            raise Http404("No such file.")
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media, name="media")]
