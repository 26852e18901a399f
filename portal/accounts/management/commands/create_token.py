"""manage.py create_token USERNAME [--name NAME]: issue an API token and print it once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import ApiToken
from portal.activity.models import record


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        token, key = ApiToken.issue(user, name)
        record("token.created", token, actor=user, via="manage.py create_token")
        self.stdout.write(key)
