"""What the rest of Launchpad asks of the notifications: ``notify(event, environment, **data)`` tells the people an
event is for, by e-mail and through their webhooks.

The one entry point the other apps call (a run needs an approver or failed, drift was found, an
environment expires or was destroyed, the audit found a high-severity problem). Deliveries go to a worker
(portal.notifications.tasks) after commit.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from portal.accounts.choices import ADMIN
from portal.accounts.roles import approver_accounts
from portal.environments.models import Environment
from portal.notifications.choices import Event
from portal.notifications.models import Delivery, Webhook, wants_email
from portal.notifications.tasks import deliver_webhook

log = logging.getLogger(__name__)


def audience(event: str, environment: Environment | None) -> list:
    """The users an event is for: the environment's owner; approvers for approvals; admins for audit findings."""
    users = get_user_model().objects.filter(is_active=True)
    people = {environment.owner_id} if environment is not None else set()
    if event == Event.RUN_NEEDS_APPROVAL:
        people |= set(approver_accounts().values_list("pk", flat=True))
    if event == Event.AUDIT_FINDING:
        people |= set(users.filter(Q(groups__name=ADMIN) | Q(is_superuser=True)).values_list("pk", flat=True))
    return list(users.filter(pk__in=people).order_by("pk"))


def summary_of(event: str, environment: Environment | None, data: dict) -> str:
    """A one-line sentence for the event: the e-mail subject and the payload's ``summary``."""
    name = environment.name if environment is not None else "Launchpad"
    kind = str(data.get("kind", "")).capitalize() or "A"
    if event == Event.RUN_NEEDS_APPROVAL:
        return f"{kind} run #{data.get('run_id')} of {name} waits for an approver"
    if event == Event.RUN_FAILED:
        return f"{kind} run #{data.get('run_id')} of {name} failed"
    if event == Event.RUN_REJECTED:
        return f"{kind} run #{data.get('run_id')} of {name} was rejected by {data.get('rejected_by')}: {data.get('reason')}"
    if event == Event.DRIFT_FOUND:
        count = len(data.get("resources", []))
        return f"{name} drifted: {count} resource{'s' if count != 1 else ''} changed outside Terraform"
    if event == Event.ENVIRONMENT_EXPIRING:
        return f"{name} expires at {data.get('expires_at', '?')} and will then be destroyed"
    if event == Event.ENVIRONMENT_DESTROYED:
        return f"{name} was destroyed" + (" at the end of its lifetime" if data.get("expired") else "")
    return f"High-severity audit finding in {name}: {data.get('title', '')}".rstrip(": ")


def _environment_facts(environment: Environment | None) -> dict | None:
    if environment is None:
        return None
    return {
        "name": environment.name,
        "blueprint": environment.blueprint.name,
        "tier": environment.tier,
        "region": environment.region,
        "owner": environment.owner.get_username(),
        "status": environment.status,
        "expires_at": environment.expires_at.isoformat() if environment.expires_at else None,
        "url": environment.page_url(),
    }


def notify(event: str, environment: Environment | None, **data) -> list[Delivery]:
    """Tell the audience of ``event`` about it: e-mail to those who want it, a delivery per matching webhook.

    ``data`` must be JSON-serialisable; ``summary=`` overrides the one-line sentence. Sending happens after
    the surrounding transaction commits (nothing is sent for work that is rolled back). Returns the
    deliveries queued.
    """
    if event not in Event.values:
        raise ValueError(f"{event!r} is not a notification event: use one of {', '.join(Event.values)}.")
    summary = data.pop("summary", None) or summary_of(event, environment, data)
    payload = {
        "id": str(uuid.uuid4()),
        "event": event,
        "occurred_at": timezone.now().isoformat(),
        "summary": summary,
        "environment": _environment_facts(environment),
        "data": data,
    }
    people = audience(event, environment)
    scope = Q(environment__isnull=True, owner__in=people)
    if environment is not None:
        scope |= Q(environment=environment)
    webhooks = Webhook.objects.filter(scope, active=True)
    deliveries = [
        Delivery.objects.create(webhook=webhook, event=event, payload=payload, next_attempt_at=timezone.now())
        for webhook in webhooks
        if webhook.hears(event)
    ]
    recipients = [user.email for user in people if user.email and wants_email(user, event, environment)]

    def send() -> None:
        for delivery in deliveries:
            deliver_webhook.delay(delivery.pk)
        if recipients:
            _send_email(event, summary, payload, recipients)

    transaction.on_commit(send)
    return deliveries


def _send_email(event: str, summary: str, payload: dict, recipients: list[str]) -> None:
    environment = payload["environment"]
    lines = [summary + ".", ""]
    for key, value in payload["data"].items():
        if isinstance(value, (str, int, float)) and value != "":
            lines.append(f"{key.replace('_', ' ')}: {value}")
    if environment:
        lines += ["", f"Environment: {environment['url']}"]
    lines += ["", f"Choose what Launchpad e-mails you: {settings.LAUNCHPAD_BASE_URL}{reverse('notifications:home')}"]
    try:
        # One message per recipient: nobody learns who else was told.
        for recipient in recipients:
            send_mail(f"[Launchpad] {summary}", "\n".join(lines), None, [recipient])
    except Exception:  # the event happened regardless; a mail server failure is logged, not raised into a run
        log.exception("e-mail about %s to %d recipients failed", event, len(recipients))
