from django.core.management.base import BaseCommand

from brand_guides.admin_scoping import SHOP_OWNER_GROUP, shop_owner_group_ensure


class Command(BaseCommand):
    help = (
        f'Create or update the "{SHOP_OWNER_GROUP}" group: the permissions a brand owner needs in the '
        "admin (also run after every migrate). Safe to run any number of times."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database: str, **options):
        group = shop_owner_group_ensure(using=database)
        codenames = sorted(group.permissions.values_list("content_type__app_label", "codename"))
        self.stdout.write(f'"{group.name}" has {len(codenames)} permissions:')
        for app_label, codename in codenames:
            self.stdout.write(f"  {app_label}.{codename}")
