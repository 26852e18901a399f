"""Who may do what: one place that answers role questions for views, the API and tasks."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from portal.accounts.choices import ADMIN, APPROVER


def _in_group(user, group: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cache = getattr(user, "_launchpad_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._launchpad_groups = cache
    return group in cache


def is_admin(user) -> bool:
    """Admins: superusers and members of the "admin" group."""
    return bool(getattr(user, "is_superuser", False)) or _in_group(user, ADMIN)


def is_approver(user) -> bool:
    """Approvers may approve runs requested by someone else; admins are approvers too."""
    return is_admin(user) or _in_group(user, APPROVER)


def approver_accounts():
    """The active accounts is_approver answers yes for: superusers and members of the approver and admin groups."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[APPROVER, ADMIN]))
        .distinct()
    )


def role_of(user) -> str:
    if is_admin(user):
        return ADMIN
    if is_approver(user):
        return APPROVER
    return "engineer"


def can_change_environment(user, environment) -> bool:
    """Owners and admins change an environment and ask for its runs."""
    return is_admin(user) or environment.owner_id == user.pk


def admin_required(reason: str):
    """View decorator: signed-in admins only; anyone else signed in gets a 403 saying ``reason``."""

    def decorate(view):
        @login_required
        @wraps(view)
        def check(request, *args, **kwargs):
            if not is_admin(request.user):
                raise PermissionDenied(reason)
            return view(request, *args, **kwargs)

        return check

    return decorate
