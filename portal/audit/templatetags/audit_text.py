"""The rules' texts are Markdown-ish (docs/audit-rules.md shows them): `code` spans become <code> on the pages too."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()
CODE_SPAN = re.compile(r"`([^`]+)`")


@register.filter
def code_spans(text: str) -> str:
    """Escape ``text`` and turn each `span` into <code>span</code>."""
    escaped = str(conditional_escape(text or ""))
    return mark_safe(CODE_SPAN.sub(r"<code>\1</code>", escaped))
