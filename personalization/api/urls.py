from django.urls import path

from .views import AuthTokenView, GenerationViewSet

app_name = "api"

urlpatterns = [
    path("auth/token/", AuthTokenView.as_view(), name="auth-token"),
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
]
