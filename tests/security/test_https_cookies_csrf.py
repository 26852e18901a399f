"""Secure cookies, HSTS, the https redirect and CSRF, on real responses with the production values of
portal/settings.py (evaluated with a production environment, not copied here): behind the TLS proxy a
request is https when X-Forwarded-Proto says so."""

from __future__ import annotations

import os
import re
import runpy
import secrets
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from rest_framework.test import APIClient

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
HOST = "launchpad.example.com"
ORIGIN = f"https://{HOST}"
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user
ONE_YEAR = 365 * 24 * 3600


def production_values(tmp_path: Path) -> dict:
    """The security settings portal/settings.py gives a production environment (DEBUG unset, a real key)."""
    env = {
        "PATH": os.environ["PATH"],
        "LAUNCHPAD_DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": HOST,
        "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    }
    with mock.patch.dict(os.environ, env, clear=True):
        values = runpy.run_path(str(REPO / "portal" / "settings.py"))
    names = [n for n in values if n.startswith(("SECURE_", "SESSION_", "CSRF_")) or n == "X_FRAME_OPTIONS"]
    return {name: values[name] for name in names} | {"ALLOWED_HOSTS": values["ALLOWED_HOSTS"]}


@pytest.fixture
def production(tmp_path):
    values = production_values(tmp_path)
    assert values["SECURE_SSL_REDIRECT"] is True and values["SESSION_COOKIE_SECURE"] is True
    caches[throttling.CACHE].clear()  # no failed sign-ins of other tests count against these logins
    with override_settings(**values):
        yield values


def browser() -> Client:
    # A fresh client per test builds its middleware under the overridden settings.
    return Client(enforce_csrf_checks=True, HTTP_HOST=HOST)


def form_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def log_in(client: Client, username: str):
    page = client.get("/accounts/login/", **HTTPS)
    return client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": form_token(page)},
        HTTP_ORIGIN=ORIGIN,
        **HTTPS,
    )


def test_after_a_login_the_session_and_csrf_cookies_are_secure_and_same_site_lax(production):
    make_user(username="alice")
    client = browser()

    response = log_in(client, "alice")

    assert response.status_code == 302, response.content
    session, csrf = response.cookies["sessionid"], response.cookies["csrftoken"]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"
    assert csrf["secure"] is True and csrf["samesite"] == "Lax"


def test_https_responses_carry_a_year_of_hsts_and_the_other_security_headers(production):
    response = browser().get("/accounts/login/", **HTTPS)

    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= ONE_YEAR
    assert "includeSubDomains" in hsts
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_without_hsts(production):
    response = browser().get("/accounts/login/?next=/fleet/")

    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/accounts/login/?next=/fleet/"
    assert "Strict-Transport-Security" not in response


def test_a_client_claiming_https_without_the_proxy_header_value_is_still_redirected(production):
    response = browser().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="http")

    assert response.status_code == 301


def test_the_health_check_answers_over_plain_http(production):
    assert browser().get("/healthz").status_code == 200


def signed_in(username: str) -> Client:
    client = browser()
    make_user(username=username)
    assert log_in(client, username).status_code == 302
    return client


def test_a_session_post_to_the_api_needs_the_csrf_token(production):
    client = signed_in("alice")

    refused = client.post(
        "/api/v1/tokens/",
        {"name": "laptop", "password": PASSWORD},
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
        **HTTPS,
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not ApiToken.objects.exists()

    accepted = client.post(
        "/api/v1/tokens/",
        {"name": "laptop", "password": PASSWORD},
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        **HTTPS,
    )
    assert accepted.status_code == 201, accepted.content
    assert ApiToken.objects.get().name == "laptop"


def test_a_session_post_to_a_web_form_needs_the_csrf_token(production):
    client = signed_in("alice")

    refused = client.post("/accounts/tokens/", {"name": "laptop", "password": PASSWORD}, HTTP_ORIGIN=ORIGIN, **HTTPS)
    assert refused.status_code == 403
    assert not ApiToken.objects.exists()

    page = client.get("/accounts/tokens/", **HTTPS)
    accepted = client.post(
        "/accounts/tokens/",
        {"name": "laptop", "password": PASSWORD, "csrfmiddlewaretoken": form_token(page)},
        HTTP_ORIGIN=ORIGIN,
        **HTTPS,
    )
    assert accepted.status_code == 200
    assert ApiToken.objects.get().name == "laptop"


def test_a_post_from_another_origin_is_refused_even_with_the_token(production):
    client = signed_in("alice")

    response = client.post(
        "/api/v1/tokens/",
        {"name": "laptop", "password": PASSWORD},
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example.net",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        **HTTPS,
    )

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_token_authenticated_api_calls_need_no_csrf_token(production):
    client = APIClient(enforce_csrf_checks=True, HTTP_HOST=HOST)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(make_user(username='alice'))}")
    token = ApiToken.objects.get()

    response = client.delete(f"/api/v1/tokens/{token.pk}/", **HTTPS)  # a change: the token revokes itself

    assert response.status_code == 204, response.content
    assert "csrftoken" not in response.cookies
