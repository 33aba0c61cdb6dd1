"""The project's URLs, with media served from settings.MEDIA_ROOT read at request time: each test
writes media into its own folder (tests/conftest.py), which config/urls.py fixes at import."""

from django.conf import settings
from django.urls import path
from django.views.static import serve

from config.urls import urlpatterns as project_urlpatterns


def media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media), *project_urlpatterns]
