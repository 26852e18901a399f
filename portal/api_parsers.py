"""The API's JSON parser: DRF's, refusing as a 400 (not a 500) what Python parses but Launchpad cannot take.

JSON nested too deeply for Python's parser, and strings UTF-8 cannot encode (a lone surrogate such as
"\\ud800", which would be stored and then break every answer that shows it): portal/text_input.py.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from portal.text_input import shown_key, shown_path, unencodable_in


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        found = unencodable_in(data)
        if found:
            path, problem = found
            message = f"{shown_path(path)} {problem}."
            if path and isinstance(path[0], str):  # under a field: named like any other invalid field
                raise ValidationError({shown_key(path[0]): [message]})
            raise ParseError(f"JSON parse error - {message}")
        return data
