"""Requests that change something run in one database transaction, kept only when the answer is a success.

A view that wrote and then failed (an exception, or a response that could not be rendered: rendering happens
after the view returns, outside Django's ATOMIC_REQUESTS) answered 500 with its rows committed: a 500 must
never commit, and no error answer may leave half a change behind. Runs and deliveries are handed to Celery
with transaction.on_commit, so they are sent when this transaction commits, never for a change rolled back.

Views that must keep a write whatever they answer are marked with Django's own
``transaction.non_atomic_requests`` (a function view, or a class view's ``_non_atomic_requests`` attribute): the
sign-in views, whose count of failed attempts (kept in the database in embedded mode) would otherwise be rolled
back with the 401 that a wrong password gets, so the limit would never be reached.

Only unsafe methods (POST, PUT, PATCH, DELETE) are wrapped. Safe ones write nothing of their own, and on
SQLite every transaction takes the database's write lock when it begins (IMMEDIATE, portal/settings.py):
wrapping page views would hold the workers' writes back for as long as a dashboard reads AWS.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, transaction
from django.urls import Resolver404, resolve

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AtomicUnsafeRequestsMiddleware:
    """Each POST, PUT, PATCH or DELETE in a transaction, rolled back when the answer is an error (4xx or 5xx).

    Middleware further down convert exceptions to 500 responses, so the status is what tells: a 4xx writes
    nothing either (bad input writes nothing), and on PostgreSQL a DataError answered as a 400 leaves a
    transaction that can only be rolled back. A streaming response's body is produced after the commit.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS or _marked_non_atomic(request):
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response


def _marked_non_atomic(request) -> bool:
    """Whether the view this request goes to asked for no transaction (``transaction.non_atomic_requests``)."""
    try:
        view = resolve(request.path_info, getattr(request, "urlconf", None)).func
    except Resolver404:
        return False
    marks = set(getattr(view, "_non_atomic_requests", ())) | set(
        getattr(getattr(view, "cls", None), "_non_atomic_requests", ())
    )
    return DEFAULT_DB_ALIAS in marks
