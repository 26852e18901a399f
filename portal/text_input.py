"""Text a client sends that is not text: strings UTF-8 cannot encode, found wherever input is taken.

JSON may escape half of a UTF-16 surrogate pair on its own ("\\ud800"); Python's parser turns it into a str
that no UTF-8 encoder takes. Stored, such a value breaks every later answer that shows it (a 500 for every
user of a list), so it is refused on the way in: by the API's JSON parser (portal/api_parsers.py) for every
body, and by the environments' variable checks for the form's JSON boxes. Form fields and query strings are
decoded by Django, which replaces undecodable bytes, so they never hold one.
"""

from __future__ import annotations

import re

_PLAIN_KEY = re.compile(r"[a-z_][a-z0-9_]{0,63}")


def shown_key(key: str) -> str:
    """A key as an error message shows it: quoted when odd, cut when long (it may be anything)."""
    return key if _PLAIN_KEY.fullmatch(key) else repr(key[:64]) + ("..." if len(key) > 64 else "")


def unencodable_problem(text: str) -> str | None:
    """Why UTF-8 cannot encode ``text`` (its first lone surrogate, escaped), or None when it can."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        surrogate = text[error.start]
        return (
            f"holds \\u{ord(surrogate):04x}, half of a UTF-16 surrogate pair without its other half: "
            "it is not text and is not accepted"
        )
    return None


def unencodable_in(value: object) -> tuple[list[str | int], str] | None:
    """The first string, key or value, in parsed JSON ``value`` that UTF-8 cannot encode: (path, problem).

    The path lists the keys and list indexes leading to it; a key that is itself the problem ends the path.
    Walked without recursion: the parser already accepted the nesting, however deep.
    """
    stack: list[tuple[object, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = unencodable_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, dict):
            for key in item:
                problem = unencodable_problem(key)
                if problem:
                    return path, f"has a key that {problem}"
            stack.extend((inner, [*path, key]) for key, inner in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((inner, [*path, index]) for index, inner in reversed(list(enumerate(item))))
    return None


def shown_path(path: list[str | int]) -> str:
    """``["variables", "tags", 0]`` as ``variables.tags[0]``; the body itself when empty."""
    shown = ""
    for part in path:
        shown += f"[{part}]" if isinstance(part, int) else ("." if shown else "") + shown_key(part)
    return shown or "the body"
