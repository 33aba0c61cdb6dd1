from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add_view, name="cart_add"),
    path("cart/lines/<int:line_id>/", views.cart_line_update, name="cart_line_update"),
    path("cart/lines/<int:line_id>/remove/", views.cart_line_delete, name="cart_line_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="shop/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
