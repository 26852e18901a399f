"""API errors as plain sentences: model validation → 400 with field messages, a refusal → its own status
(portal/refusals.py), a value the database cannot hold (PostgreSQL refuses NUL characters in text, even to
compare) → 400."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.refusals import Refused


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail)
    if isinstance(exc, Refused):
        body = {exc.field: [str(exc)]} if exc.field else {"detail": str(exc)}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DataError):
        # Raised before anything was written (a lookup or the first write of an atomic block, rolled back).
        message = "The request holds a value the database cannot store or compare"
        reason = "a NUL character" if "NUL" in str(exc) else "too long or malformed"
        return Response({"detail": f"{message} ({reason})."}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
