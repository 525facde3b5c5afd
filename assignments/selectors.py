"""Reads of assignments (no writes here)."""

from __future__ import annotations

from functools import cache

from assignments.models import Assignment
from lib import rows


def featured_assignments() -> tuple[Assignment | None, list[Assignment]]:
    """The main featured assignment and the alternatives, active ones only, in editors' order."""
    featured = list(
        Assignment.objects.filter(active=True)
        .exclude(featured=Assignment.Featured.NONE)
        .order_by("feature_order", "title")
    )
    main = next((a for a in featured if a.featured == Assignment.Featured.MAIN), None)
    return main, [a for a in featured if a.featured == Assignment.Featured.ALTERNATIVE]


def home_assignments() -> tuple[Assignment | None, list[Assignment], Assignment | None]:
    """What the home page leads with: ``(lead, alternatives, finished_main)``.

    The lead is the main assignment while it still has pages to complete. Once every page of it
    is complete, a big "Start" there would only thank a new visitor for finishing: the lead is
    then the alternative that most needs help (the most pages left), and ``finished_main`` is
    the main one, so the page can say it is done. Alternatives exclude the lead."""
    main, alternatives = featured_assignments()
    if main is None or not is_complete(main):
        return main, alternatives, None
    needing = [a for a in alternatives if not is_complete(a)]
    if not needing:
        return None, alternatives, main
    lead = max(needing, key=lambda a: (a.page_count - a.completed_count, -a.feature_order))
    return lead, [a for a in alternatives if a.pk != lead.pk], main


def is_complete(assignment: Assignment) -> bool:
    """Every page reached the threshold (an assignment without pages is not complete: it waits)."""
    return assignment.page_count > 0 and assignment.completed_count >= assignment.page_count


# The cookie set by /assignments/<slug>/start/ naming the reviewer's current assignment.
CURRENT_ASSIGNMENT_COOKIE = "crowd_assignment"


def current_assignment(request) -> Assignment | None:
    """The assignment named by the cookie if it is active, else the main featured assignment.

    Looked up once per request: a submit asks twice (the assignment credited, then the one the
    next page is picked from), and the answer cannot differ within one request."""
    cached = getattr(request, "_crowd_current_assignment", _UNSET)
    if cached is not _UNSET:
        return cached
    slug = request.COOKIES.get(CURRENT_ASSIGNMENT_COOKIE) or None
    row = rows.fetch_one(_current_sql(), {"slug": slug, "main": Assignment.Featured.MAIN.value})
    found = rows.instance(Assignment, row) if row else None
    request._crowd_current_assignment = found
    return found


_UNSET = object()


@cache
def _current_sql() -> str:
    # One query for both cases: the cookie's assignment sorts first when it is active, else the
    # main featured one, the first in the editors' order (Assignment.Meta.ordering) as before.
    # Raw SQL (lib.rows): every review request asks, and the ORM took longer to compile the
    # query than Postgres to answer it.
    return (
        f"SELECT {rows.columns(Assignment, 'a')} FROM {rows.table(Assignment)} a"
        " WHERE a.active AND (a.slug = %(slug)s OR a.featured = %(main)s)"
        " ORDER BY (a.slug = %(slug)s) IS TRUE DESC, a.feature_order, a.title, a.id LIMIT 1"
    )


def assignments_needing_reviews(*, exclude_id: int | None = None, limit: int = 5) -> list[Assignment]:
    """Active assignments with pages still to review, the most pages left first (done page)."""
    from django.db.models import F

    qs = Assignment.objects.filter(active=True, page_count__gt=F("completed_count"))
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(
        qs.annotate(remaining=F("page_count") - F("completed_count")).order_by("-remaining", "title")[:limit]
    )
