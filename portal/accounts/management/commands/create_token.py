"""manage.py create_token USERNAME [--name NAME] [--scope read|full] [--expires-in-days N]: issue an API token
and print it once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import MAX_LIFETIME_DAYS, ApiToken, TokenScope
from portal.activity.models import record


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument(
            "--scope", choices=TokenScope.values, default=TokenScope.FULL, help="read: safe methods only (GET)."
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help=f"1 to {MAX_LIFETIME_DAYS}; default: never expires."
        )

    def handle(self, username, name, scope, expires_in_days, **options):
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise CommandError(f"--expires-in-days must be from 1 to {MAX_LIFETIME_DAYS} (or left out: never).")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        token, key = ApiToken.issue(user, name, scope=scope, expires_in_days=expires_in_days)
        record("token.created", token, actor=user, via="manage.py create_token")
        self.stdout.write(key)
