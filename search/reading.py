"""The reading views' extra context: what a reporter needs on ``/pages/<id>/`` and
``/documents/<id>/`` besides the crowd's tags. Called through hooks named in settings
(``PAGE_VIEW_CONTEXT_HOOKS``, ``DOCUMENT_VIEW_CONTEXT_HOOKS``), so the catalogue's views do not
import this app (docs/architecture.md).

A page: its previous and next page (the next the viewer may see), its document, member, party,
the tag listings it appears in, its text line by line (a permalink anchor per line) and, with
``?q=``, the searched words marked in the text and as boxes over the scan (an SVG whose viewBox
is the image's pixels: no inline style or script, CSP-safe). A document: every page the viewer
may see as a thumbnail grid with its public tag counts and discovery marks, the assignments
containing it, its text as one column, and a search box scoped to it. Query counts are fixed
per view (a test counts them), whatever the number of pages.
"""

from __future__ import annotations

from django.db.models import Q

from assignments import scope as assignment_scope
from assignments.models import Assignment
from assignments.visibility import public_page_q
from catalogue.models import Page
from lib.web import is_staff
from results.params import BadRequest
from reviews.models import Discovery, PageTag
from search import query as search_query
from search.models import PageText
from search.selectors import marked_page


def _text_query(request) -> str:
    """The words of ``?q=`` (filters dropped); "" when absent or not a valid search."""
    try:
        return search_query.parse(request.GET.get("q", "")).text
    except BadRequest:
        return ""


def page_context(request, page, context: dict) -> dict:
    staff = is_staff(request.user)
    siblings = Page.objects.filter(document_id=page.document_id)
    if not staff:
        siblings = siblings.filter(public_page_q())
    previous = siblings.filter(number__lt=page.number).order_by("-number").only("pk", "number").first()
    following = siblings.filter(number__gt=page.number).order_by("number").only("pk", "number").first()
    q = _text_query(request)
    reading = marked_page(page.pk, q)
    member = page.document.member
    tags = context.get("tags")
    listings = []
    if tags is not None and getattr(tags, "visible", False):
        listings = [pt.tag for pt in tags.counts if pt.tag.active]
    return {
        "reading": {
            "q": q,
            "previous": previous,
            "next": following,
            "member": member,
            "party": member.party if member else None,
            "listings": listings,
            "text": reading,
            "marks": reading.boxes if reading and q else [],
        }
    }


def document_context(request, document, context: dict) -> dict:
    staff = is_staff(request.user)
    pages_qs = Page.objects.filter(document_id=document.pk)
    if not staff:
        pages_qs = pages_qs.filter(public_page_q())
    pages = list(
        pages_qs.order_by("number").only("pk", "number", "thumbnail", "width", "height", "withdrawn_at")
    )
    ids = [p.pk for p in pages]
    tag_rows = PageTag.objects.filter(page_id__in=ids, count__gt=0, tag__active=True).select_related("tag")
    if not staff:
        tag_rows = tag_rows.filter(listed_at__isnull=False)  # the public's counts, as on listings
    tags_by_page: dict[int, list] = {}
    for pt in tag_rows.order_by("tag__order", "tag__name"):
        tags_by_page.setdefault(pt.page_id, []).append(pt)
    discovered = set(Discovery.objects.filter(page_id__in=ids).values_list("page_id", flat=True))
    texts = dict(PageText.objects.filter(page_id__in=ids).values_list("page_id", "text"))
    member = document.member
    assignments = Assignment.objects.filter(
        assignment_scope.containing_document_filter(
            document_id=document.pk,
            member_id=member.pk if member else None,
            party_id=member.party_id if member else None,
        )
    ).distinct()
    if not staff:
        assignments = assignments.filter(Q(active=True) & Q(status=Assignment.Status.PUBLISHED))
    grid = [
        {
            "page": p,
            "tags": tags_by_page.get(p.pk, []),
            "discovery": p.pk in discovered,
            "lines": [line for line in texts.get(p.pk, "").split("\n")],
        }
        for p in pages
    ]
    return {
        "reading": {
            "grid": grid,
            "assignments": list(assignments.order_by("title")),
            "has_text": any(texts.get(p.pk, "").strip() for p in pages),
        }
    }
