"""Reads of assignments (no writes here)."""

from __future__ import annotations

from assignments.models import Assignment


def featured_assignments() -> tuple[Assignment | None, list[Assignment]]:
    """The main featured assignment and the alternatives, active ones only, in editors' order."""
    featured = list(
        Assignment.objects.filter(active=True)
        .exclude(featured=Assignment.Featured.NONE)
        .order_by("feature_order", "title")
    )
    main = next((a for a in featured if a.featured == Assignment.Featured.MAIN), None)
    return main, [a for a in featured if a.featured == Assignment.Featured.ALTERNATIVE]


# The cookie set by /assignments/<slug>/start/ naming the reviewer's current assignment.
CURRENT_ASSIGNMENT_COOKIE = "crowd_assignment"


def current_assignment(request) -> Assignment | None:
    """The assignment named by the cookie if it is active, else the main featured assignment."""
    slug = request.COOKIES.get(CURRENT_ASSIGNMENT_COOKIE)
    if slug:
        found = Assignment.objects.filter(slug=slug, active=True).first()
        if found is not None:
            return found
    return Assignment.objects.filter(active=True, featured=Assignment.Featured.MAIN).first()
