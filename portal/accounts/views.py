"""Signing in (Django's view, with the sign-in limit) and out, and the user's API tokens: create (key shown
once, the password asked again), revoke (with every token made with it)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.forms import NewTokenForm
from portal.accounts.lifecycle import revoke
from portal.accounts.models import ApiToken
from portal.accounts.throttling import LoginThrottled, SignInAttempt, password_confirmed
from portal.activity.models import record
from portal.client_address import client_address


class LoginView(auth_views.LoginView):
    """Django's login, limited like the API's token endpoint: failed attempts per client address and per
    username. Past the limit the form answers 429 with Retry-After and checks no password."""

    template_name = "accounts/login.html"
    next_page = "environments:list"
    redirect_authenticated_user = True
    attempt: SignInAttempt | None = None

    def post(self, request, *args, **kwargs):
        username, password = request.POST.get("username", ""), request.POST.get("password", "")
        if username and password:  # otherwise the form only says what is missing: no password is checked
            self.attempt = SignInAttempt(client_address(request), username)
            if not self.attempt.allowed:
                return self.throttled(username)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if self.attempt is not None:
            self.attempt.succeeded()
        return super().form_valid(form)

    def throttled(self, username: str):
        # An unbound form: a bound one would check the password when its errors are read.
        form = self.get_form_class()(self.request, initial={"username": username})
        wait = self.attempt.retry_after
        context = self.get_context_data(
            form=form, throttled=f"Too many failed sign-in attempts. Try again in {wait} second{'s' * (wait != 1)}."
        )
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


# Failed sign-ins are counted in the database (embedded mode): that count must outlive the error answer.
login = transaction.non_atomic_requests(LoginView.as_view())
logout = auth_views.LogoutView.as_view(next_page="accounts:login")


@transaction.non_atomic_requests  # a wrong password's count must outlive the 400 (portal/atomic_requests.py)
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = NewTokenForm(request.POST or None)
    new_key, refused = None, None
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if form.is_valid() and not password_confirmed(request, form.cleaned_data["password"]):
                form.add_error("password", "Wrong password.")
        except LoginThrottled as refusal:
            form.add_error(None, str(refusal.detail))
            refused, status = refusal, 429
        if form.is_valid():
            options = form.cleaned_data
            with transaction.atomic():
                token, new_key = ApiToken.issue(
                    request.user, options["name"], scope=options["scope"], expires_in_days=options["expires_in_days"]
                )
                record("token.created", token, request=request)
            # The key is in this response only (no redirect, nothing kept in the session): it is shown once.
            form, status = NewTokenForm(), 200
    tokens = ApiToken.objects.filter(user=request.user).select_related("created_by_token")
    context = {"form": form, "tokens": tokens, "new_key": new_key}
    response = render(request, "accounts/token_list.html", context, status=status)
    if new_key:
        response["Cache-Control"] = "no-store"
    if refused is not None:
        response["Retry-After"] = str(refused.wait)
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    # Another user's token is a 404: its existence is not told.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoked = revoke(token, request)
    if revoked:
        made = len(revoked) - (revoked[0].pk == token.pk)
        also = f", with the {made} token{'s' * (made != 1)} made with it" if made else ""
        messages.success(
            request, f"The token {token.name} is revoked{also}: requests using it are refused from now on."
        )
    return redirect("accounts:tokens")
