from django.urls import path

from .views import OrderFulfilmentView, OrderViewSet, ProductViewSet

app_name = "shop_api"

urlpatterns = [
    path("products/", ProductViewSet.as_view({"get": "list"}), name="product-list"),
    path("products/<slug:slug>/", ProductViewSet.as_view({"get": "retrieve"}), name="product-detail"),
    path("orders/", OrderViewSet.as_view({"get": "list", "post": "create"}), name="order-list"),
    path("orders/<str:lookup>/", OrderViewSet.as_view({"get": "retrieve"}), name="order-detail"),
    path("orders/<str:lookup>/fulfilment/", OrderFulfilmentView.as_view(), name="order-fulfilment"),
]
