"""Error answers made outside the views: JSON under /api/, pages elsewhere; a body over the limit is a 413; a
refusal (portal/refusals.py) a page with its status and sentence.

Django answers these itself (an address no route matches, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, more form
fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, an unexpected error) before or after any view, with HTML pages:
an API client gets JSON with a sentence instead, like every other API error.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

from portal.refusals import Refused

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def body_limit() -> str:
    return f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024:g} MiB"


def bad_request(request, exception=None):
    """400, or 413 when the body is over the limit, naming the limit that was hit."""
    status, message = 400, "The request could not be read."
    if isinstance(exception, RequestDataTooBig):
        status = 413
        message = f"The request body is larger than {body_limit()}, the most Launchpad accepts."
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        message = (
            f"The request sends more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields, the most Launchpad accepts."
        )
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "400.html", {"message": message}, status=status)


def page_not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": "Not found: no API endpoint or object answers to this address."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return JsonResponse(
            {"detail": "Launchpad failed to answer: the error is logged for its operators."}, status=500
        )
    return defaults.server_error(request)


class RejectNulMiddleware:
    """A NUL character in the address or the query string is a 400 before any view sees it.

    No name, filter or parameter of Launchpad may hold one, and PostgreSQL cannot even compare text with it
    (psycopg raises DataError: a 500 where SQLite just finds nothing). JSON bodies: portal/api_parsers.py.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        query = unquote_plus(request.META.get("QUERY_STRING", ""), errors="replace")
        if "\x00" in request.path or "\x00" in query:
            message = "The address contains a NUL character, which no name or parameter of Launchpad may hold."
            if is_api(request):
                return JsonResponse({"detail": message}, status=400)
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


class RefusalMiddleware:
    """A refusal a page view lets through is a page with the refusal's status and sentence, and a way back.

    The API answers them in portal/api_errors.py; a page view that shows a refusal inside its own form (the
    destroy confirmation) catches it itself. The status makes AtomicUnsafeRequestsMiddleware roll back.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Refused) or is_api(request):
            return None
        back = request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            back = ""
        context = {"message": str(exception), "back": back}
        return render(request, "refused.html", context, status=exception.status_code)
