"""Logging in and out, pages closed to visitors, navigation by role, and the user's own API tokens page."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.test import Client

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from portal.activity.models import ActivityEntry
from tests.factories import api_client, make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKENS = "/accounts/tokens/"
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user


@pytest.fixture(autouse=True)
def no_failed_sign_ins():
    """Failed sign-ins count per client address in the cache (Redis when CACHE_URL is set): none before or after."""
    caches[throttling.CACHE].clear()
    yield
    caches[throttling.CACHE].clear()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


# --- login and logout ------------------------------------------------------------------------------


def test_the_login_page_has_a_form_with_its_csrf_token():
    response = Client().get(LOGIN)

    assert response.status_code == 200
    assert 'name="username"' in text(response) and 'name="password"' in text(response)
    assert "csrfmiddlewaretoken" in text(response)


def test_logging_in_leads_to_the_environments():
    make_user(username="alice")
    client = Client()

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_logging_in_returns_to_the_page_asked_for():
    make_user(username="alice")

    response = Client().post(LOGIN + "?next=/accounts/tokens/", {"username": "alice", "password": PASSWORD})

    assert response["Location"] == "/accounts/tokens/"


def test_a_wrong_password_is_refused_in_plain_words():
    make_user(username="alice")
    client = Client()

    response = client.post(LOGIN, {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in text(response)
    assert "_auth_user_id" not in client.session


def test_logging_out_is_a_post_and_ends_the_session():
    client = client_for(make_user())

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response["Location"] == LOGIN
    assert client.get("/")["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/environments/new/",
        "/environments/new/?blueprint=sandbox",
        "/environments/feature-x/",
        "/environments/feature-x/live/",
        "/environments/feature-x/destroy/",
        "/runs/{run}/",
        "/runs/{run}/status/",
        "/runs/{run}/events/",
        "/accounts/tokens/",
        "/activity/",
    ],
)
def test_every_page_but_login_asks_a_visitor_to_log_in(url):
    run = make_run(make_environment(name="feature-x"))

    response = Client().get(url.format(run=run.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=")


# --- navigation by role ----------------------------------------------------------------------------


def test_engineers_see_no_admin_navigation():
    page = text(client_for(make_user()).get("/"))

    assert 'href="/activity/"' not in page
    assert 'href="/admin/"' not in page
    assert 'href="/accounts/tokens/"' in page


def test_admins_see_the_activity_and_admin_links():
    page = text(client_for(make_user("admin")).get("/"))

    assert 'href="/activity/"' in page
    assert 'href="/admin/"' in page


def test_the_navigation_shows_who_is_logged_in_and_a_logout_form():
    page = text(client_for(make_user("approver", username="rita")).get("/"))

    assert "<strong>rita</strong>" in page and "approver" in page
    assert re.search(
        r'<form method="post" action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken"', page
    )


# --- API tokens ------------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works_on_the_api():
    user = make_user(username="alice")
    client = client_for(user)

    created = client.post(TOKENS, {"name": "ci-pipeline", "password": PASSWORD})

    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    key = re.search(r'<code class="token-key" id="new-token-key">([^<]+)</code>', text(created)).group(1)
    assert "it is shown only once" in text(created)
    assert api_client().get("/api/v1/environments/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    token = ApiToken.objects.get(user=user)
    assert token.name == "ci-pipeline"
    assert key not in token.digest

    again = client.get(TOKENS)
    assert key not in text(again)
    assert 'id="new-token-key"' not in text(again)
    assert token.preview in text(again)
    assert ActivityEntry.objects.filter(action="token.created", actor=user).exists()


def test_a_token_needs_a_name():
    response = client_for(make_user()).post(TOKENS, {"name": ""})

    assert response.status_code == 400
    assert '<p class="error" id="id_name_error">This field is required.</p>' in text(response)
    assert not ApiToken.objects.exists()


def test_the_page_lists_only_ones_own_tokens():
    alice, bob = make_user(username="alice"), make_user(username="bob")
    ApiToken.issue(alice, "alice-laptop")
    ApiToken.issue(bob, "bob-laptop")

    page = text(client_for(alice).get(TOKENS))

    assert "alice-laptop" in page
    assert "bob-laptop" not in page


def test_revoking_a_token_stops_it_at_once():
    user = make_user()
    token, key = ApiToken.issue(user, "laptop")
    client = client_for(user)

    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)

    assert "The token laptop is revoked" in text(response)
    assert '<span class="badge status-failed">revoked</span>' in text(response)
    assert api_client().get("/api/v1/environments/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert ActivityEntry.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()


def test_someone_elses_token_cannot_be_revoked():
    token, key = ApiToken.issue(make_user(), "laptop")

    assert client_for(make_user()).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_revoking_is_post_only():
    user = make_user()
    token, _ = ApiToken.issue(user, "laptop")

    assert client_for(user).get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_the_page_asks_for_the_password_and_refuses_a_wrong_one():
    user = make_user()
    client = client_for(user)
    assert 'type="password" name="password"' in text(client.get(TOKENS))

    response = client.post(TOKENS, {"name": "ci", "password": "not-it"})

    assert response.status_code == 400
    assert '<p class="error" id="id_password_error">Wrong password.</p>' in text(response)
    assert 'id="new-token-key"' not in text(response)
    assert not ApiToken.objects.exists()


def test_the_page_refuses_password_guesses_past_the_sign_in_limit():
    client = client_for(make_user())
    for attempt in range(10):
        assert client.post(TOKENS, {"name": "ci", "password": f"guess-{attempt}"}).status_code == 400

    refused = client.post(TOKENS, {"name": "ci", "password": PASSWORD})

    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert "Too many failed sign-in attempts" in text(refused)
    assert not ApiToken.objects.exists()


def test_the_page_makes_read_only_expiring_tokens_and_shows_scope_expiry_and_last_use():
    user = make_user()
    client = client_for(user)

    created = client.post(TOKENS, {"name": "reader", "scope": "read", "expires_in_days": "30", "password": PASSWORD})

    assert created.status_code == 200
    token = ApiToken.objects.get(user=user)
    assert token.scope == "read"
    row = re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', text(created), re.S).group(1)
    assert '<span class="tag">read-only</span>' in row
    assert token.expires_at.strftime("%Y-%m-%d %H:%M") in row
    assert '<td class="small">never</td>' in row, "never used"
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.created_at)
    row = re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', text(client.get(TOKENS)), re.S).group(1)
    assert row.count(token.created_at.strftime("%Y-%m-%d %H:%M")) == 2, "created and last used"


@pytest.mark.parametrize("days", ["0", "366", "soon"])
def test_the_page_refuses_an_expiry_outside_one_to_365_days(days):
    response = client_for(make_user()).post(TOKENS, {"name": "x", "expires_in_days": days, "password": PASSWORD})

    assert response.status_code == 400
    assert 'id="id_expires_in_days_error"' in text(response)
    assert not ApiToken.objects.exists()


def test_the_page_shows_an_expired_token_as_expired():
    user = make_user()
    token, _ = ApiToken.issue(user, "old", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=token.created_at)

    assert '<span class="badge status-cancelled">expired</span>' in text(client_for(user).get(TOKENS))


def test_revoking_on_the_page_revokes_the_tokens_made_with_it():
    admin = make_user("admin")
    maker, maker_key = ApiToken.issue(admin, "maker")
    made = api_client().post(
        "/api/v1/tokens/", {"name": "made"}, format="json", HTTP_AUTHORIZATION=f"Token {maker_key}"
    )
    page = text(client_for(admin).get(TOKENS))
    assert "made with maker" in page

    response = client_for(admin).post(f"/accounts/tokens/{maker.pk}/revoke/", follow=True)

    assert "The token maker is revoked, with the 1 token made with it" in text(response)
    auth = {"HTTP_AUTHORIZATION": f"Token {made.json()['token']}"}
    assert api_client().get("/api/v1/environments/", **auth).status_code == 401
