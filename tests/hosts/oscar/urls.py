from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from personalization import interface

from . import views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The plugin: the studio and its REST API.
    path("personalize/", include(interface.STUDIO_URLS)),
    path("api/v1/", include(interface.API_URLS)),
    # Customer files (designs, mockups, print files): checked per request, then handed over.
    path("private-media/<path:name>", interface.private_file, name="private_media"),
    # This host's "add the design to the basket".
    path("personalize/basket/add/", views.basket_add, name="oscar_host_basket_add"),
    # oscar's storefront and dashboard.
    path("", include(apps.get_app_config("oscar").urls[0])),
]
