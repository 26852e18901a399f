"""The activity log's record of who did what, and from which address: behind the proxy, the client's."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from portal.activity.models import ActivityEntry
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TOKENS = "/accounts/tokens/"
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user
PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
SPOOFED = "203.0.113.66"


def create_token(**headers) -> ActivityEntry:
    client = Client()
    client.force_login(make_user(username="alice"))
    assert client.post(TOKENS, {"name": "ci", "password": PASSWORD}, **headers).status_code == 200
    return ActivityEntry.objects.get(action="token.created")


def test_the_activity_log_records_the_client_the_proxy_saw_not_the_proxy():
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        event = create_token(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)

    assert event.ip_address == CLIENT


def test_a_spoofed_forwarded_for_entry_in_front_of_the_proxys_is_not_believed():
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        event = create_token(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}")

    assert event.ip_address == CLIENT


def test_without_a_proxy_forwarded_for_is_ignored():
    event = create_token(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=SPOOFED)

    assert event.ip_address == CLIENT


def test_a_forwarded_entry_that_is_not_an_address_is_recorded_as_unknown():
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        event = create_token(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-address")

    assert event.ip_address is None
