from django.urls import path

from .views import BrandDetailView, MaterialListView, StyleListView

app_name = "brand_guides_api"

urlpatterns = [
    path("brands/<slug:slug>/", BrandDetailView.as_view(), name="brand-detail"),
    path("materials/", MaterialListView.as_view(), name="material-list"),
    path("styles/", StyleListView.as_view(), name="style-list"),
]
