"""Role questions in templates ({% load roles %}): the same answers as portal.accounts.roles."""

from django import template

from portal.accounts import roles

register = template.Library()


@register.filter
def is_admin(user) -> bool:
    return roles.is_admin(user)


@register.filter
def is_approver(user) -> bool:
    return roles.is_approver(user)


@register.filter
def role_of(user) -> str:
    return roles.role_of(user)
