"""When a plan waits for an approver: every tier but development needs one."""

from __future__ import annotations

import pytest

from portal.environments.choices import Tier
from portal.runs.approval import approval_reasons
from tests.factories import make_environment, make_run

pytestmark = pytest.mark.django_db

NOTHING_LOST = {"stateful_losses": []}


def test_a_development_plan_that_loses_nothing_applies_without_an_approver():
    run = make_run(make_environment(name="dev-x", tier=Tier.DEV))

    assert approval_reasons(run, NOTHING_LOST) == []


@pytest.mark.parametrize(("tier", "reason"), [(Tier.STAGING, "Staging"), (Tier.PROD, "Production")])
def test_a_plan_of_any_other_tier_waits_for_an_approver(tier, reason):
    run = make_run(make_environment(name=f"{tier}-x", tier=tier))

    assert approval_reasons(run, NOTHING_LOST) == [f"{reason} environments need an approver."]
