"""manage.py ensure_admin: create the first admin (DJANGO_SUPERUSER_USERNAME/PASSWORD or generated)."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the admin account if no superuser exists; print generated credentials once."

    def handle(self, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        if users.objects.filter(username=username).exists():
            raise CommandError(
                f"A user called {username!r} exists but is not a superuser: promote it with "
                "`manage.py createsuperuser` under another name, or set DJANGO_SUPERUSER_USERNAME."
            )
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(f"Created the admin account: username {username}, password {password} (shown once).")
        else:
            self.stdout.write(f"Created the admin account {username} from DJANGO_SUPERUSER_USERNAME/PASSWORD.")
