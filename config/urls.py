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

if settings.DEBUG or not settings.STORAGES["default"]["BACKEND"].endswith("S3Storage"):
    from django.views.static import serve

    # Local media (designs, mockups). Behind a real web server, serve MEDIA_ROOT there instead.
    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    ]
