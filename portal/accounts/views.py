"""Signing in and out (Django's own views) and the user's API tokens: create (key shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.forms import NewTokenForm
from portal.accounts.models import ApiToken
from portal.activity.models import record

login = auth_views.LoginView.as_view(
    template_name="accounts/login.html", next_page="environments:list", redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view(next_page="accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = NewTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            token, new_key = ApiToken.issue(request.user, form.cleaned_data["name"])
            record("token.created", token, request=request)
        # The key is in this response only (no redirect, nothing kept in the session): it is shown once.
        form = NewTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    response = render(request, "accounts/token_list.html", {"form": form, "tokens": tokens, "new_key": new_key})
    if request.method == "POST" and new_key is None:
        response.status_code = 400
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    # Another user's token is a 404: its existence is not told.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is None:
        token.revoke()
        record("token.revoked", token, request=request)
        messages.success(request, f"The token {token.name} is revoked: requests using it are refused from now on.")
    return redirect("accounts:tokens")
