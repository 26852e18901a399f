"""Refusals (portal/refusals.py): each kind answers with its own status and its sentence, through the API as
JSON and through the pages as a page, and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from portal.activity.models import ActivityEntry
from portal.audit.models import AuditRun
from portal.runs.models import HIGH_FINDINGS_NEED_ADMIN, HIGH_FINDINGS_NEED_JUSTIFICATION
from tests.audit.test_pre_apply import awaiting_with_findings
from tests.factories import api_client, make_environment, make_run, make_user

pytestmark = pytest.mark.django_db


@dataclass
class Refusal:
    user: object
    api: tuple[str, dict]
    page: tuple[str, dict]
    status: int
    sentence: str


def run_not_awaiting_approval() -> Refusal:  # TransitionError
    run = make_run(make_environment(name="queued-run"), status="queued")
    return Refusal(
        make_user("approver"),
        (f"/api/v1/runs/{run.pk}/approve/", {}),
        (f"/runs/{run.pk}/approve/", {}),
        409,
        f"Cannot approve run #{run.pk}: it is queued.",
    )


def plan_with_high_findings_approved_by_an_approver() -> Refusal:  # SecurityHold
    run = awaiting_with_findings(make_environment(name="insecure-plan"))
    return Refusal(
        make_user("approver"),
        (f"/api/v1/runs/{run.pk}/approve/", {"comment": "Fine."}),
        (f"/runs/{run.pk}/approve/", {"comment": "Fine."}),
        403,
        HIGH_FINDINGS_NEED_ADMIN,
    )


def drift_check_before_the_first_apply() -> Refusal:  # LifecycleError
    environment = make_environment(name="never-applied")
    return Refusal(
        environment.owner,
        ("/api/v1/environments/never-applied/drift-checks/", {}),
        ("/environments/never-applied/drift/", {}),
        409,
        "never-applied is new (never applied): drift is checked on applied environments (ready or drifted).",
    )


def extending_an_environment_without_a_lifetime() -> Refusal:  # ExtensionRefused
    environment = make_environment(name="forever", blueprint_name="full")
    return Refusal(
        environment.owner,
        ("/api/v1/environments/forever/extend/", {"hours": 5}),
        ("/environments/forever/extend/", {"hours": "5"}),
        400,
        "forever has no lifetime: it does not expire, so there is nothing to extend.",
    )


def audit_already_under_way() -> Refusal:  # AuditError
    running = AuditRun.objects.create()
    return Refusal(
        make_user("admin"),
        ("/api/v1/audit/runs/", {"environment": None}),
        ("/audit/runs/", {"environment": ""}),
        409,
        f"An audit of the whole account is already under way (#{running.pk}).",
    )


REFUSALS = [
    run_not_awaiting_approval,
    plan_with_high_findings_approved_by_an_approver,
    drift_check_before_the_first_apply,
    extending_an_environment_without_a_lifetime,
    audit_already_under_way,
]


@pytest.mark.parametrize("refusal", REFUSALS)
def test_the_api_answers_a_refusal_with_its_status_and_sentence(refusal):
    refusal = refusal()
    path, data = refusal.api

    response = api_client(refusal.user).post(path, data, format="json")

    assert response.status_code == refusal.status
    assert response.json() == {"detail": refusal.sentence}
    assert not ActivityEntry.objects.exists()


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_page_answers_a_refusal_with_its_status_and_sentence(refusal):
    refusal = refusal()
    path, data = refusal.page
    client = Client()
    client.force_login(refusal.user)

    response = client.post(path, data, HTTP_REFERER="http://testserver/environments/")

    assert response.status_code == refusal.status
    assert response.templates[0].name == "refused.html"
    assert f'<p class="subtitle" id="refusal">{refusal.sentence}</p>' in response.content.decode()
    assert '<a class="button" href="http://testserver/environments/">Back</a>' in response.content.decode()
    assert not ActivityEntry.objects.exists()


def test_a_refusal_page_does_not_link_back_to_another_site():
    refusal = run_not_awaiting_approval()
    client = Client()
    client.force_login(refusal.user)

    response = client.post(refusal.page[0], HTTP_REFERER="https://evil.example/phish")

    assert response.status_code == 409
    assert "evil.example" not in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_a_refusal_about_a_field_names_the_field_in_the_api_and_is_a_400_on_the_page():
    run = awaiting_with_findings(make_environment(name="insecure-plan"))
    admin = make_user("admin")
    client = Client()
    client.force_login(admin)

    api = api_client(admin).post(f"/api/v1/runs/{run.pk}/approve/", {"comment": "  "}, format="json")
    page = client.post(f"/runs/{run.pk}/approve/", {"comment": "  "})

    assert (api.status_code, api.json()) == (400, {"comment": [HIGH_FINDINGS_NEED_JUSTIFICATION]})
    assert page.status_code == 400 and HIGH_FINDINGS_NEED_JUSTIFICATION in page.content.decode()
    run.refresh_from_db()
    assert run.status == "awaiting_approval"
