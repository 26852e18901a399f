"""Refused: an action the current state (or the value asked for) does not allow, with the sentence for the user.

Each kind carries its HTTP status; the API (portal/api_errors.py) and the pages (portal/http_errors.py) answer
every refusal from it, so no view picks a code by hand.
"""

from __future__ import annotations


class Refused(Exception):
    """The action conflicts with the current state (409); ``str()`` is the sentence shown to the user."""

    status_code = 409
    # The request field the refusal is about: the API then names it ({"comment": [sentence]}) like a form error.
    field: str | None = None
