"""A finding's evidence as pretty-printed JSON lines, the guilty parts (JSON pointers) marked for highlighting."""

from __future__ import annotations

import json
from dataclasses import dataclass

INDENT = "  "


@dataclass(frozen=True)
class EvidenceLine:
    number: int
    text: str
    guilty: bool
    # The pointer whose value starts on this line (the page links to it), or "".
    anchor: str = ""


def _escape(segment: object) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def evidence_lines(document: object, pointers: list[str]) -> list[EvidenceLine]:
    """``document`` as ``json.dumps(indent=2)`` prints it, one line each, with the lines of ``pointers`` marked."""
    targets = [p for p in pointers or [] if isinstance(p, str)]
    rows: list[tuple[str, bool, str]] = []

    def guilty(pointer: str) -> bool:
        return any(pointer == target or pointer.startswith(target + "/") or target == "" for target in targets)

    def emit(value: object, pointer: str, depth: int, prefix: str, suffix: str) -> None:
        pad = INDENT * depth
        marked = guilty(pointer)
        anchor = pointer if pointer in targets else ""
        if isinstance(value, dict) and value:
            rows.append((f"{pad}{prefix}{{", marked, anchor))
            items = list(value.items())
            for index, (key, item) in enumerate(items):
                comma = "," if index < len(items) - 1 else ""
                emit(item, f"{pointer}/{_escape(key)}", depth + 1, json.dumps(str(key)) + ": ", comma)
            rows.append((f"{pad}}}{suffix}", marked, ""))
        elif isinstance(value, list) and value:
            rows.append((f"{pad}{prefix}[", marked, anchor))
            for index, item in enumerate(value):
                emit(item, f"{pointer}/{index}", depth + 1, "", "," if index < len(value) - 1 else "")
            rows.append((f"{pad}]{suffix}", marked, ""))
        else:
            rows.append((f"{pad}{prefix}{json.dumps(value, default=str)}{suffix}", marked, anchor))

    emit(document, "", 0, "", "")
    return [EvidenceLine(number, text, marked, anchor) for number, (text, marked, anchor) in enumerate(rows, start=1)]


def missing_pointers(document: object, pointers: list[str]) -> list[str]:
    """The pointers naming nothing in ``document`` (what is guilty is an absence, e.g. no public access block)."""
    missing = []
    for pointer in pointers or []:
        node = document
        for raw in pointer.split("/")[1:]:
            segment = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and segment in node:
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                missing.append(pointer)
                break
        else:
            if node is None:
                missing.append(pointer)
    return missing
