from django.urls import path

from . import views

app_name = "personalization"
urlpatterns = [
    path("", views.studio, name="studio"),
    path("fields/", views.product_fields, name="product_fields"),
    path("gallery/", views.gallery, name="gallery"),
    path("jobs/<uuid:pk>/", views.job, name="job"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:pk>/vary/", views.job_vary, name="job_vary"),
    path("jobs/<uuid:pk>/rate/", views.job_rate, name="job_rate"),
    path("images/<int:pk>/preview/", views.image_preview, name="image_preview"),
]
