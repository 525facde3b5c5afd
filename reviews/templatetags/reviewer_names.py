"""How a reviewer's name is shown wherever names appear: a link to the profile, with a "staff"
badge for the site's own people, so that nobody can pass for them (see ``account_rules``: names
like "the-editor" are refused, and real editors are marked)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


def _get(person, name: str, default=None):
    if isinstance(person, dict):
        return person.get(name, default)
    return getattr(person, name, default)


@register.simple_tag
def reviewer_link(person, css_class: str = "") -> str:
    """``<a href="/users/<name>/">name</a>`` plus ``<span class="staff-badge">staff</span>`` for
    staff accounts. ``person`` is a user or a row with ``username`` (and ``is_staff`` when known)."""
    username = _get(person, "username")
    if not username:
        return ""
    link = format_html(
        '<a href="{}"{}>{}</a>',
        reverse("user", args=[username]),
        format_html(' class="{}"', css_class) if css_class else "",
        username,
    )
    return format_html("{}{}", link, staff_badge(person))


@register.simple_tag
def staff_badge(person) -> str:
    if _get(person, "is_staff"):
        return format_html(
            ' <span class="staff-badge" title="{}">staff</span>', "A member of the editorial staff"
        )
    return ""
