"""Small text filters for staff pages."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

_CODE = re.compile(r"`([^`]+)`")


@register.filter
def inline_code(text: str) -> str:
    """Render the registry's Markdown-style `code` spans as <code> (everything else escaped)."""
    return mark_safe(_CODE.sub(r"<code>\1</code>", escape(text)))
