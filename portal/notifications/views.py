"""The notifications page: webhooks (with the delivery log) and the user's e-mail choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.activity.models import record
from portal.notifications.filtersets import DeliveryFilterSet
from portal.notifications.forms import EmailPreferencesForm, EnvironmentOverrideForm, WebhookForm
from portal.notifications.models import Delivery, NotificationPreference, webhooks_visible_to

DELIVERY_LOG_SIZE = 50


def _page(request, **forms_and_extra):
    webhooks = list(webhooks_visible_to(request.user))
    # A webhook number that is not one shows the whole log, as no filter does.
    deliveries = DeliveryFilterSet(
        request.GET, queryset=Delivery.objects.filter(webhook__in=webhooks).select_related("webhook")
    ).qs
    context = {
        "webhooks": webhooks,
        "deliveries": deliveries[:DELIVERY_LOG_SIZE],
        "overrides": NotificationPreference.objects.filter(user=request.user, environment__isnull=False).select_related(
            "environment"
        ),
        "webhook_form": WebhookForm(request.user),
        "preferences_form": EmailPreferencesForm(request.user),
        "override_form": EnvironmentOverrideForm(request.user),
        **forms_and_extra,
    }
    return render(request, "notifications/notifications.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notifications_home(request):
    """GET shows the page; POST creates a webhook (its generated secret is in this response only)."""
    if request.method == "GET":
        return _page(request)
    form = WebhookForm(request.user, request.POST)
    if not form.is_valid():
        response = _page(request, webhook_form=form)
        response.status_code = 400
        return response
    with transaction.atomic():
        webhook, new_secret = form.save()
        record("webhook.created", webhook, request=request, url=webhook.url, events=webhook.events)
    messages.success(request, f"The webhook {webhook.name} is created.")
    response = _page(request, new_secret=new_secret, new_webhook=webhook)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def preferences_save(request):
    form = EmailPreferencesForm(request.user, request.POST)
    if form.is_valid():
        form.save()
        record("notification_preferences.updated", request.user, request=request)
        messages.success(request, "Your e-mail choices are saved.")
    return redirect("notifications:home")


@login_required
@require_POST
def override_add(request):
    form = EnvironmentOverrideForm(request.user, request.POST)
    if not form.is_valid():
        response = _page(request, override_form=form)
        response.status_code = 400
        return response
    preference = form.save()
    record("notification_preferences.updated", request.user, request=request, environment=preference.environment.name)
    messages.success(request, f"Saved for {preference.environment.name}.")
    return redirect("notifications:home")


@login_required
@require_POST
def override_delete(request, pk: int):
    get_object_or_404(NotificationPreference, pk=pk, user=request.user, environment__isnull=False).delete()
    return redirect("notifications:home")


@login_required
@require_POST
def webhook_toggle(request, pk: int):
    # Webhooks the user may not see are a 404: their existence is not told.
    webhook = get_object_or_404(webhooks_visible_to(request.user), pk=pk)
    webhook.active = not webhook.active
    webhook.save(update_fields=["active"])
    record("webhook.updated", webhook, request=request, active=webhook.active)
    messages.success(request, f"{webhook.name} is {'on' if webhook.active else 'off'}.")
    return redirect("notifications:home")


@login_required
@require_POST
def webhook_delete(request, pk: int):
    webhook = get_object_or_404(webhooks_visible_to(request.user), pk=pk)
    record("webhook.deleted", webhook, request=request, url=webhook.url)
    webhook.delete()
    messages.success(request, f"The webhook {webhook.name} is deleted.")
    return redirect("notifications:home")
