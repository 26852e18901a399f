"""Roles: every user is an engineer; approvers may approve others' runs; admins see everything."""

ENGINEER = "engineer"
APPROVER = "approver"
ADMIN = "admin"
ROLES = (ENGINEER, APPROVER, ADMIN)
# The groups that grant a role (admins are Django superusers or members of "admin").
ROLE_GROUPS = (APPROVER, ADMIN)
