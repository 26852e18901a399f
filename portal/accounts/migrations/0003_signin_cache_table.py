"""The table of the "signin" cache (the sign-in limit's failure counts shared by every process, portal/settings.py).

Made by migrate, so every way Launchpad starts (`make run`, docker compose's migrate service, the test database)
has it, whatever CACHES says at the time: a database first migrated with CACHE_URL set still has the table when
CACHE_URL is later unset.
"""

from django.core.management import call_command
from django.db import migrations

TABLE = "launchpad_signin_cache"  # settings.SIGNIN_CACHE_TABLE when this migration was written


def create_table(apps, schema_editor):
    # Django's own command: the table has exactly the columns its DatabaseCache reads (skipped if it exists).
    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_role_groups")]

    operations = [migrations.RunPython(create_table, drop_table)]
