app_name = "shop_api"
urlpatterns: list = []
