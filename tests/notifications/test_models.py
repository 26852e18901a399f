"""E-mail choices beside their model: one choice at a time (the page's forms) or all at once (the API)."""

from __future__ import annotations

import pytest

from portal.notifications.choices import Event
from portal.notifications.models import (
    NotificationPreference,
    choose_email,
    preferences_of,
    replace_preferences,
    wants_email,
)
from tests.factories import make_environment, make_user

pytestmark = pytest.mark.django_db


def test_choosing_email_for_an_event_again_changes_the_one_choice():
    user = make_user()

    choose_email(user, Event.RUN_FAILED, False)
    choose_email(user, Event.RUN_FAILED, True)

    assert NotificationPreference.objects.filter(user=user, environment=None).count() == 1
    assert wants_email(user, Event.RUN_FAILED, None) is True


def test_an_override_for_one_environment_wins_over_the_choice_for_all():
    user = make_user()
    environment = make_environment(owner=user, name="feature-x")

    choose_email(user, Event.RUN_FAILED, True)
    override = choose_email(user, Event.RUN_FAILED, False, environment)

    assert override.environment == environment and override.email is False
    assert wants_email(user, Event.RUN_FAILED, environment) is False
    assert wants_email(user, Event.RUN_FAILED, make_environment(owner=user, name="feature-y")) is True


def test_replacing_the_preferences_keeps_only_the_overrides_given():
    user = make_user()
    kept, dropped = make_environment(owner=user, name="kept"), make_environment(owner=user, name="dropped")
    choose_email(user, Event.RUN_FAILED, False, dropped)
    wanted = preferences_of(user)
    wanted["events"][0]["email"] = False
    wanted["environments"] = [{"environment": kept, "event": Event.DRIFT_FOUND, "email": False}]

    replace_preferences(user, wanted)

    assert preferences_of(user) == wanted
