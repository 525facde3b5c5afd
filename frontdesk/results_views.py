"""Public results pages (tag and combination listings, index pages, discoveries) and the staff
activity page. Views parse and validate; reads are in ``results.selectors``."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from assignments import visibility
from assignments.models import Assignment
from catalogue.models import Document, Member, Party, Tag
from contributors import leaderboards
from contributors import selectors as credit
from lib import hooks
from lib.web import error_page, staff_required
from moderation import takedown_selectors as takedown
from moderation.selectors import recent_records
from results import activity, selectors
from results.params import BadRequest, parse_filters, parse_id, parse_order_confidence
from results.selectors import Listing, Order, ScopeKind

_ROUTE_PREFIX = {ScopeKind.ALL: "", **{k: f"{k.value}-" for k in ScopeKind if k != ScopeKind.ALL}}


def listing_url(listing: Listing, *, order: Order | None = None, feed: bool = False, query=None) -> str:
    """The URL of a listing (or of the same listing in another order, or of its Atom feed)."""
    order = order or listing.order
    name = ("in-order-" if order == Order.IN_ORDER else "") + _ROUTE_PREFIX[listing.scope.kind] + "tag"
    if feed:
        name += "-feed"
    args = [] if listing.scope.obj is None else [scope_value(listing.scope)]
    url = reverse(name, args=[*args, listing.tag.slug])
    return f"{url}?{urlencode(query)}" if query else url


def scope_value(scope: selectors.Scope):
    obj = scope.obj
    if scope.kind == ScopeKind.DOCUMENT:
        return obj.pk
    if scope.kind == ScopeKind.USER:
        return obj.get_username()
    return obj.slug


def bad_request_as_400(view):
    """``BadRequest`` from parsing becomes a clear 400 page (its message never echoes input)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadRequest as e:
            return render(
                request,
                "error.html",
                {"title": "That address is not quite right", "message": e.message, "status": 400},
                status=400,
            )

    return wrapped


def _lookup(request: HttpRequest, *, kind: ScopeKind, tag: str, value=None):
    viewer = selectors.viewer_for(request.user)
    tag_obj = selectors.tag_for(tag, viewer=viewer)
    if tag_obj is None:
        raise Http404("No such tag")
    if kind == ScopeKind.DOCUMENT:
        value = parse_id(str(value), name="document")
    scope = selectors.scope_for(kind, value, viewer=viewer)
    if scope is None:
        raise Http404("Nothing by that name")
    return viewer, tag_obj, scope


@require_safe
@bad_request_as_400
def listing(request: HttpRequest, *, order: Order, kind: ScopeKind, tag: str, value=None) -> HttpResponse:
    """Pages with a tag (optionally narrowed), most-tagged first or in first-tagged order."""
    viewer, tag_obj, scope = _lookup(request, kind=kind, tag=tag, value=value)
    filters = parse_filters(request.GET)
    after = request.GET.get("after") or None
    # ?order=confidence (consensus): most confident first, whichever listing it is asked of.
    by_confidence = parse_order_confidence(request.GET)
    listed_order = order
    if by_confidence:
        order = Order.CONFIDENCE
    lst = Listing(tag=tag_obj, scope=scope, order=order)
    page = selectors.listing_page(lst, viewer=viewer, filters=filters, after=after)
    base_query = filters.as_query()
    confidence_url = listing_url(lst, order=Order.MOST_TAGGED, query={**base_query, "order": "confidence"})
    query = {**base_query, "order": "confidence"} if by_confidence else base_query
    if by_confidence:
        lst = Listing(tag=tag_obj, scope=scope, order=listed_order)
    next_url = listing_url(lst, query={**query, "after": page.next_cursor}) if page.next_cursor else None
    resume_url = None
    if page.resume_cursor and not page.next_cursor:
        resume_url = listing_url(lst, query={**query, "after": page.resume_cursor})
    context = {
        "listing": lst,
        "rows": page.rows,
        "filters": filters,
        "filter_query": base_query,
        "viewer": viewer,
        "next_url": next_url,
        "resume_url": resume_url,
        "first_url": listing_url(lst, query=query),
        "in_order_url": listing_url(lst, order=Order.IN_ORDER, query=base_query),
        "most_tagged_url": listing_url(lst, order=Order.MOST_TAGGED, query=base_query),
        "feed_url": listing_url(lst, order=Order.IN_ORDER, feed=True, query=base_query),
        "export_csv_url": _with_query(reverse("export-tag", args=[tag_obj.slug, "csv"]), base_query),
        "export_jsonl_url": _with_query(reverse("export-tag", args=[tag_obj.slug, "jsonl"]), base_query),
        "is_first_page": not after,
        "in_order": listed_order == Order.IN_ORDER and not by_confidence,
        "by_confidence": by_confidence,
        "confidence_url": confidence_url,
    }
    return render(request, "results/listing.html", context)


def _with_query(url: str, query: dict) -> str:
    return f"{url}?{urlencode(query)}" if query else url


@require_safe
def tag_index(request: HttpRequest) -> HttpResponse:
    viewer = selectors.viewer_for(request.user)
    counts = selectors.tag_counts(viewer=viewer, scope=selectors.Scope())
    return render(request, "results/tags.html", {"tag_counts": counts, "viewer": viewer})


@require_safe
def party_index(request: HttpRequest) -> HttpResponse:
    return render(request, "results/parties.html", {"parties": selectors.parties()})


@require_safe
def party_detail(request: HttpRequest, slug: str) -> HttpResponse:
    party = Party.objects.filter(slug=slug).first()
    if party is None:
        raise Http404("No such party")
    viewer = selectors.viewer_for(request.user)
    scope = selectors.Scope(ScopeKind.PARTY, party)
    context = {
        "party": party,
        "members": selectors.members(party=party),
        "tag_counts": selectors.tag_counts(viewer=viewer, scope=scope),
        "scope_value": party.slug,
        "route": "party-tag",
        "viewer": viewer,
        "discoveries": credit.discoveries_for(party=party),
        "top_reviewers": credit.board_table(
            leaderboards.Board(leaderboards.PARTY, party.pk), viewer=request.user
        ),
    }
    return render(request, "results/party.html", context)


@require_safe
def member_index(request: HttpRequest) -> HttpResponse:
    return render(request, "results/members.html", {"members": selectors.members()})


@require_safe
def member_detail(request: HttpRequest, slug: str) -> HttpResponse:
    member = Member.objects.select_related("party").filter(slug=slug).first()
    if member is None:
        raise Http404("No such member")
    viewer = selectors.viewer_for(request.user)
    scope = selectors.Scope(ScopeKind.MEMBER, member)
    context = {
        "member": member,
        "documents": selectors.documents_of(member),
        "tag_counts": selectors.tag_counts(viewer=viewer, scope=scope),
        "scope_value": member.slug,
        "route": "member-tag",
        "viewer": viewer,
        "discoveries": credit.discoveries_for(member=member),
        "top_reviewers": credit.board_table(
            leaderboards.Board(leaderboards.MEMBER, member.pk), viewer=request.user
        ),
    }
    return render(request, "results/member.html", context)


@require_safe
@bad_request_as_400
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    pk = parse_id(str(document_id), name="document")
    document = Document.objects.select_related("member__party").filter(pk=pk).first()
    if document is None:
        raise Http404("No such document")
    viewer = selectors.viewer_for(request.user)
    seen_as = visibility.document_visibility(document)
    if seen_as == "embargoed" and not viewer.is_staff:
        raise Http404("No such document")  # staff only until published, as if it did not exist
    if seen_as == "withdrawn" and not viewer.is_staff:
        response = error_page(
            request,
            status=410,
            title="This document has been withdrawn",
            message="The editors withdrew this document. It is no longer published here.",
        )
        response["Cache-Control"] = "no-store"
        return response
    scope = selectors.Scope(ScopeKind.DOCUMENT, document)
    context = {
        "document": document,
        "public_pages": selectors.public_page_count(document),
        "tag_counts": selectors.tag_counts(viewer=viewer, scope=scope),
        "scope_value": document.pk,
        "route": "document-tag",
        "viewer": viewer,
        "discoveries": credit.discoveries_for(document=document),
    }
    # The page grid, text and scoped search of the search app's reading view (a settings hook).
    hooks.extra_context("DOCUMENT_VIEW_CONTEXT_HOOKS", request, document, context)
    return render(request, "results/document.html", context)


@require_safe
@bad_request_as_400
def discoveries(request: HttpRequest) -> HttpResponse:
    """All discoveries, newest first, cursor-paginated (``?after=<cursor>``)."""
    after = request.GET.get("after") or None
    rows, next_cursor = selectors.discoveries_page(after=after)
    next_url = _with_query(reverse("discoveries"), {"after": next_cursor}) if next_cursor else None
    context = {"discoveries": rows, "next_url": next_url, "is_first_page": not after}
    return render(request, "results/discoveries.html", context)


@never_cache
@staff_required
@require_safe
@bad_request_as_400
def staff_activity(request: HttpRequest) -> HttpResponse:
    """Recent reviews and skips, newest first, filterable; no reviewer address is stored."""
    filters = _activity_filters(request)
    items, next_cursor = activity.activity(filters=filters, after=request.GET.get("after") or None)
    query = filters.as_query()
    next_url = (
        _with_query(reverse("staff-activity"), {**query, "after": next_cursor}) if next_cursor else None
    )
    context = {
        "items": items,
        "filters": filters,
        "next_url": next_url,
        "first_url": _with_query(reverse("staff-activity"), query),
        "assignments": Assignment.objects.order_by("title"),
        "tags": Tag.objects.order_by("order", "name"),
        "parties": Party.objects.order_by("name"),
        # Editors' moderation decisions (who, when, why), on the first page only.
        "quarantines": [] if request.GET.get("after") else recent_records(user=filters.reviewer),
        "withdrawal_events": None if request.GET.get("after") else takedown.recent_withdrawal_events(),
        "embargo_decisions": None if request.GET.get("after") else takedown.recent_embargo_decisions(),
    }
    return render(request, "results/activity.html", context)


def _activity_filters(request: HttpRequest) -> activity.ActivityFilters:
    from django.contrib.auth import get_user_model

    found = {}
    for name, model, field in (
        ("assignment", Assignment, "slug"),
        ("tag", Tag, "slug"),
        ("member", Member, "slug"),
        ("party", Party, "slug"),
        ("reviewer", get_user_model(), "username"),
    ):
        raw = request.GET.get(name, "").strip()
        if not raw:
            continue
        if len(raw) > 150 or "\x00" in raw:
            raise BadRequest(f"The {name} filter is too long or contains invalid characters.")
        obj = model.objects.filter(**{field: raw}).first()
        if obj is None:
            raise BadRequest(f"There is no {name} by that name.")
        found[name] = obj
    return activity.ActivityFilters(**found)


@require_safe
@bad_request_as_400
def export(request: HttpRequest, fmt: str, tag: str | None = None):
    """Streamed CSV / JSON-lines export of every visible (page, tag) row, or of one tag's."""
    from results.exports import export_response

    tag_obj = None
    if tag is not None:
        tag_obj = selectors.tag_for(tag, viewer=selectors.viewer_for(request.user))
        if tag_obj is None:
            raise Http404("No such tag")
    return export_response(request, tag=tag_obj, fmt=fmt)
