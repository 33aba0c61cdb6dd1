from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("personalization.api.urls")),
    path("api/v1/", include("brand_guides.api.urls")),
    path("api/v1/", include("shop.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("personalize/", include("personalization.urls")),
    path("", include("shop.urls")),
]

if not settings.STORAGES["default"]["BACKEND"].endswith("S3Storage"):
    from django.views.static import serve

    def serve_media(request, path):
        """Local media (designs, mockups, previews); MEDIA_ROOT read per request. Behind a real
        web server, serve MEDIA_ROOT there instead."""
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media, name="media")]
