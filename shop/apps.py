from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from . import signals  # noqa: F401

        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="shop.create_cache_table")


def create_cache_table(sender, using="default", **kwargs) -> None:
    """After migrate: the database cache's table (``settings.CACHES``, config/cache.py), so a deploy
    that runs ``migrate`` has it (``make run`` and a test database too). Nothing when the cache is
    Redis or local memory; an existing table is kept."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
