import logging

from django.apps import AppConfig, apps
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)


class BrandGuidesConfig(AppConfig):
    default = True
    name = "brand_guides"
    verbose_name = "Brand guides"

    def ready(self) -> None:
        post_migrate.connect(sync_shop_owner_group, dispatch_uid="brand_guides.sync_shop_owner_group")
        from . import signals

        signals.connect()  # Brand.revision (brand_guides.services.brand_revise)


class BrandScopedAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the brand-scoped site (its "view on site" shortcut is scoped
    too). List it in INSTALLED_APPS in place of "django.contrib.admin"."""

    default = False
    default_site = "brand_guides.admin_scoping.BrandScopedAdminSite"


def sync_shop_owner_group(sender, using="default", **kwargs) -> None:
    """After migrate: keep the "Shop owner" group's permissions in step with the admins. Runs once,
    after the last app's post_migrate (when every app's permissions exist)."""
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender is not last:
        return
    from .admin_scoping import shop_owner_group_ensure

    try:
        shop_owner_group_ensure(using=using)
    except LookupError as exc:  # a partial migrate: the next full one (or the command) fills it in
        logger.warning("Shop owner group not updated: %s", exc)
