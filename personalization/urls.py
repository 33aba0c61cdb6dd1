app_name = "personalization"
urlpatterns: list = []
