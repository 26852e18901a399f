"""The activity page: the activity log with filters, for admins only (a 403 for everyone else)."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.activity.models import record
from tests.factories import make_environment, make_user

pytestmark = pytest.mark.django_db

ACTIVITY = "/activity/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def history():
    """Three events by two people on two environments."""
    alice, bob = make_user(username="alice"), make_user(username="bob")
    alpha, beta = make_environment(owner=alice, name="alpha"), make_environment(owner=bob, name="beta")
    record("environment.created", alpha, actor=alice, blueprint="sandbox")
    record("environment.created", beta, actor=bob, blueprint="sandbox")
    record("environment.updated", alpha, actor=alice, variables=["vpc_cidr"])


def listed(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200
    return [(event.actor_name, event.action, event.object_repr) for event in response.context["page"].object_list]


def test_admins_see_the_activity_log_newest_first(history):
    response = client_for(make_user("admin")).get(ACTIVITY)

    assert listed(response) == [
        ("alice", "environment.updated", "alpha"),
        ("bob", "environment.created", "beta"),
        ("alice", "environment.created", "alpha"),
    ]
    assert "vpc_cidr" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?action=environment.created", [("bob", "beta"), ("alice", "alpha")]),
        ("?actor=alice", [("alice", "alpha"), ("alice", "alpha")]),
        ("?object_type=environment&search=bet", [("bob", "beta")]),
        ("?action=token.created", []),
        ("?actor=nobody", []),
    ],
)
def test_the_activity_log_is_filtered(history, query, expected):
    response = client_for(make_user("admin")).get(ACTIVITY + query)

    assert [(actor, name) for actor, _, name in listed(response)] == expected


@pytest.mark.parametrize("role", ["engineer", "approver"])
def test_the_activity_page_is_forbidden_to_everyone_but_admins(history, role):
    response = client_for(make_user(role)).get(ACTIVITY)

    assert response.status_code == 403
    assert "Only admins can see the activity log." in response.content.decode()
    assert "environment.created" not in response.content.decode()
