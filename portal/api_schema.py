"""The OpenAPI schema's error answers: each operation documents the 4xx it can give, with their JSON bodies.

drf-spectacular documents only the success of an operation; schemathesis (tests/security/test_schemathesis.py)
holds the API to its schema, so the errors every view can answer are added here in one place, by rule:
400 everywhere (a NUL character in the address, refused before any view: portal/http_errors.py), 401 and 403
where a sign-in is needed, 404 where the path names an object, 413 and 415 where a body is read, 429 where a
throttle counts. Operation-specific errors (409 for a refused transition, 400 for a bad
query parameter) are declared on the view with ``extend_schema(responses=...)``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    """An error answered with one sentence."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


# A validation error: {field: [messages]} (nested for nested fields), or {"detail": sentence}.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "Each problem, by field ({field: [messages]}), or a sentence under detail.",
}

ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: every problem is named.",
    "401": "No valid credentials: send Authorization: Token <key> (or sign in).",
    "403": "Signed in, but this is not allowed for this user.",
    "404": "No such object (or not one this user may see).",
    "409": "The object is not in a state that allows this.",
    "413": "The request body is larger than the API accepts.",
    "415": "The request body's content type is not one the API reads.",
    "429": "Too many attempts: wait and try again.",
}


class LaunchpadAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error answers of each operation documented."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes():
            body = VALIDATION_ERROR if code == "400" else ErrorSerializer
            documented = self._get_response_for_code(
                OpenApiResponse(body, description=ERROR_DESCRIPTIONS[code]), code, direction=direction
            )
            if code not in responses:
                responses[code] = documented
            elif not responses[code].get("content"):  # declared with a description only: add the body
                responses[code]["content"] = documented["content"]
        return dict(sorted(responses.items()))

    def error_codes(self) -> list[str]:
        codes = ["400"]  # any address holding a NUL character (RejectNulMiddleware)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            codes += ["413", "415"]
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes
