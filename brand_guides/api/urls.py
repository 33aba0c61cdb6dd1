app_name = "brand_guides_api"
urlpatterns: list = []
