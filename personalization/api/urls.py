"""The plugin's generation API (a host includes ``interface.API_URLS``; the token view is the
project's, ``apikit.views.AuthTokenView``)."""

from django.urls import path

from .views import DesignPreviewView, GenerationViewSet, PresetListView, TextOptionsView

app_name = "api"

urlpatterns = [
    path("presets/", PresetListView.as_view(), name="preset-list"),
    path(
        "generations/", GenerationViewSet.as_view({"get": "list", "post": "create"}), name="generation-list"
    ),
    path("generations/<uuid:pk>/", GenerationViewSet.as_view({"get": "retrieve"}), name="generation-detail"),
    path(
        "generations/<uuid:pk>/cancel/",
        GenerationViewSet.as_view({"post": "cancel"}),
        name="generation-cancel",
    ),
    path(
        "generations/<uuid:pk>/rating/",
        GenerationViewSet.as_view({"post": "rating"}),
        name="generation-rating",
    ),
    path(
        "generations/<uuid:pk>/images/<int:index>/preview/",
        DesignPreviewView.as_view(),
        name="generation-image-preview",
    ),
    path("generations/<uuid:pk>/text-options/", TextOptionsView.as_view(), name="generation-text-options"),
]
