from django.apps import AppConfig


class BrandGuidesConfig(AppConfig):
    name = "brand_guides"
    verbose_name = "Brand guides"
