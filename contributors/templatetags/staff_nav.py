"""``{% staff_nav %}``: the one staff navigation, on every staff page and in the admin header.

Editors found the triage inbox only by knowing its address; this puts every staff tool one click
from any other, with the number of pages waiting in triage (one count query, staff pages only:
none of them is cached).
"""

from django import template

from contributors import selectors
from lib.web import is_staff

register = template.Library()


@register.inclusion_tag("staff/_nav.html", takes_context=True)
def staff_nav(context, current: str = ""):
    request = context.get("request")
    if request is None or not is_staff(request.user):
        return {"show": False}
    return {"show": True, "current": current, "triage_waiting": selectors.triage_waiting_count()}
