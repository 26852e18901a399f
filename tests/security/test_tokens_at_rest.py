"""API tokens at rest: after every way of making one (the create_token command, POST /auth/token/, POST /tokens/
with the session and the password or with an admin's token, the tokens page), no table of the database holds a key or its secret part, only the SHA-256 of the secret."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from tests.factories import api_client, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user


def every_row_of_every_table() -> str:
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            dump.append(f"{table}: {cursor.fetchall()!r}")
    return "\n".join(dump)


def test_no_table_holds_a_key_or_its_secret_only_the_hash():
    caches[throttling.CACHE].clear()  # no failed sign-ins of other tests count against the login below
    alice = make_user(username="alice")
    out = io.StringIO()
    call_command("create_token", "alice", "--name", "from-the-command", stdout=out)
    keys = [out.getvalue().strip()]
    keys.append(
        api_client()
        .post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
        .json()["token"]
    )
    session_client = api_client()
    session_client.force_login(alice)
    made = session_client.post("/api/v1/tokens/", {"name": "from-the-api", "password": PASSWORD}, format="json")
    keys.append(made.json()["token"])
    made = api_client(make_user("admin")).post("/api/v1/tokens/", {"name": "by-admin", "user": "alice"}, format="json")
    keys.append(made.json()["token"])
    browser = Client()
    browser.force_login(alice)
    page = browser.post("/accounts/tokens/", {"name": "from-the-page", "password": PASSWORD}).content.decode()
    keys += [key for key in re.findall(r"lp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", page) if key not in keys]

    assert len(keys) == 5 and len(set(keys)) == 5
    assert ApiToken.objects.filter(user=alice).count() == 5
    stored = every_row_of_every_table()
    for key in keys:
        _, lookup, secret = key.split("_", 2)
        assert key not in stored
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored
        assert ApiToken.authenticate(key).lookup == lookup, "the key still works: only its hash was needed"
