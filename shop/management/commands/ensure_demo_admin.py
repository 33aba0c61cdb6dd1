"""`python manage.py ensure_demo_admin`: the demo superuser admin/admin, only while DEBUG is on."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
PASSWORD = "admin"


class Command(BaseCommand):
    help = "With DEBUG on, create or reset the demo superuser admin / admin. Refuses when DEBUG is off."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=None, help="Port shown in the admin URL (default 8000).")

    def handle(self, *args, port=None, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Refusing to create the demo admin: DEBUG is off (production settings). "
                "Create real accounts with `python manage.py createsuperuser`."
            )
        user, _ = get_user_model().objects.update_or_create(
            username=USERNAME,
            defaults={
                "email": "admin@example.com",
                "is_staff": True,
                "is_superuser": True,
                "is_active": True,
            },
        )
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        port = port or "8000"
        self.stdout.write(f"Demo admin: http://127.0.0.1:{port}/admin/ user {USERNAME} / password {PASSWORD}")
