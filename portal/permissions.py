"""API permissions by role: engineers act on their own environments, approvers review, admins do all."""

from __future__ import annotations

from rest_framework import permissions

from portal.accounts.roles import can_change_environment, is_admin, is_approver


class IsAdmin(permissions.BasePermission):
    message = "Only admins can see this."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class IsApprover(permissions.BasePermission):
    message = "Only approvers can do this."

    def has_permission(self, request, view) -> bool:
        return is_approver(request.user)


class CanChangeEnvironment(permissions.BasePermission):
    message = "Only the environment's owner or an admin can change it."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        environment = getattr(obj, "environment", obj)
        return can_change_environment(request.user, environment)
