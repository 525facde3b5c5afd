"""The read-only JSON API under /api/. Lists use cursor pagination; the tag listings take the
same filters and cursors as the HTML listings (``results.selectors``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, F, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from assignments import visibility
from assignments.models import Assignment
from catalogue.models import Document, Member, Page, Party, Tag
from results import selectors
from results.api import serializers as s
from results.params import BadRequest, parse_filters, parse_id
from results.selectors import Listing, Order, ScopeKind
from reviews.models import PageTag
from reviews.selectors import with_public_threshold


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def decode_cursor(self, request):
        # DRF answers a bad cursor with 404 "Invalid cursor"; it is bad input, so a 400.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ParseError("That cursor is malformed.") from None

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError):
            raise ParseError("That cursor is malformed.") from None


class _ViewerMixin:
    def viewer(self) -> selectors.Viewer:
        if not hasattr(self, "_viewer"):
            self._viewer = selectors.viewer_for(self.request.user)
        return self._viewer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["viewer"] = self.viewer()
        return context


# Slugs only: anything else (a NUL byte) is a 404 from the router, never a query (a 500).
SLUG_REGEX = "[-a-zA-Z0-9_]+"


class PartyViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Party.objects.all()
    serializer_class = s.PartySerializer
    pagination_class = IdCursorPagination
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX


class MemberViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Member.objects.select_related("party")
    serializer_class = s.MemberSerializer
    pagination_class = IdCursorPagination
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX


def _gone_or_missing(model, viewer, lookup: str) -> Response:
    """What the public gets for an object the detail query did not find: 410 when it exists and
    was withdrawn (as the HTML pages answer), else the 404 (embargoed ones included: as if they
    never were)."""
    if not viewer.is_staff and lookup.isdigit():
        withdrawn = model.objects.filter(pk=int(lookup), withdrawn_at__isnull=False).exists()
        if withdrawn:
            response = Response({"detail": "This has been withdrawn by the editors."}, status=410)
            response["Cache-Control"] = "no-store"
            return response
    raise NotFound()


_DETAIL_RESPONSES = {404: OpenApiTypes.OBJECT, 410: OpenApiTypes.OBJECT}


class DocumentViewSet(_ViewerMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.DocumentSerializer
    pagination_class = IdCursorPagination
    lookup_value_regex = "[0-9]{1,18}"

    @extend_schema(responses={200: s.DocumentSerializer, **_DETAIL_RESPONSES})
    def retrieve(self, request, *args, **kwargs):
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            return _gone_or_missing(Document, self.viewer(), str(kwargs.get("pk", "")))

    def get_queryset(self):
        qs = Document.objects.select_related("member")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return qs.none()
        if self.viewer().is_staff:
            return qs
        # A document the public may not see (embargoed, or withdrawn: assignments.visibility)
        # is not in the public API: 404 (410 once withdrawn: ``retrieve``); nor are its pages
        # that are not public in its page count (a subquery per document on its own pages).
        withdrawn = (
            Page.objects.filter(~visibility.public_page_q(), document=OuterRef("pk"))
            .order_by()
            .values("document")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return qs.filter(visibility.public_document_q()).annotate(
            public_page_count=F("page_count") - Coalesce(Subquery(withdrawn), 0)
        )


class TagViewSet(_ViewerMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.TagSerializer
    pagination_class = IdCursorPagination
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX

    def get_queryset(self):
        qs = Tag.objects.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return qs.none()
        return qs if self.viewer().is_staff else qs.filter(active=True)


class AssignmentViewSet(_ViewerMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AssignmentSerializer
    pagination_class = IdCursorPagination
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX

    def get_queryset(self):
        qs = Assignment.objects.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return qs.none()
        return qs if self.viewer().is_staff else qs.filter(active=True)


class PageViewSet(_ViewerMixin, viewsets.ReadOnlyModelViewSet):
    """Pages with their tag counts once the viewer may see them (the listings' rule)."""

    serializer_class = s.PageSerializer
    pagination_class = IdCursorPagination
    lookup_value_regex = "[0-9]{1,18}"

    @extend_schema(responses={200: s.PageSerializer, **_DETAIL_RESPONSES})
    def retrieve(self, request, *args, **kwargs):
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            return _gone_or_missing(Page, self.viewer(), str(kwargs.get("pk", "")))

    def get_queryset(self):
        tags = PageTag.objects.filter(count__gt=0, tag__active=True).select_related("tag")
        pages = Page.objects.all()
        if not getattr(self, "swagger_fake_view", False) and not self.viewer().is_staff:
            pages = pages.filter(visibility.public_page_q())  # embargoed or withdrawn: staff only
        # Each page's public threshold in the same query (a subquery per page listed).
        return with_public_threshold(pages).prefetch_related(
            Prefetch(
                "page_tags",
                queryset=tags.order_by("-count", "tag__order", "tag__name"),
                to_attr="visible_tags",
            )
        )


_SCOPE_PARAMS = {
    "party": ScopeKind.PARTY,
    "member": ScopeKind.MEMBER,
    "document": ScopeKind.DOCUMENT,
    "assignment": ScopeKind.ASSIGNMENT,
    "user": ScopeKind.USER,
}


class ListingView(APIView):
    """Pages with a tag, optionally narrowed to one party, member, document, assignment or user."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "order", str, enum=[Order.MOST_TAGGED.value, Order.IN_ORDER.value, Order.CONFIDENCE.value]
            ),
            OpenApiParameter("party", str, description="party slug"),
            OpenApiParameter("member", str, description="member slug"),
            OpenApiParameter("document", int, description="document id"),
            OpenApiParameter("assignment", str, description="assignment slug"),
            OpenApiParameter("user", str, description="username"),
            OpenApiParameter(
                "min_agreement", str, description="share of the page's reviewers, 0-1 (0.5, 2/3)"
            ),
            OpenApiParameter("min_reviews", int),
            OpenApiParameter("min_confidence", str, description="posterior that the tag applies, 0-1 (0.95)"),
            OpenApiParameter("after", OpenApiTypes.STR, description="cursor from `next`"),
        ],
        responses=s.ListingSerializer,
    )
    def get(self, request, tag: str):
        try:
            return self._get(request, tag)
        except BadRequest as e:
            raise ParseError(e.message) from None

    def _get(self, request, tag: str) -> Response:
        viewer = selectors.viewer_for(request.user)
        tag_obj = selectors.tag_for(tag, viewer=viewer)
        if tag_obj is None:
            raise NotFound("No such tag.")
        order_raw = request.query_params.get("order") or Order.MOST_TAGGED.value
        if order_raw not in (Order.MOST_TAGGED.value, Order.IN_ORDER.value, Order.CONFIDENCE.value):
            raise BadRequest("order must be most-tagged, in-order or confidence.")
        given = [
            (name, request.query_params[name]) for name in _SCOPE_PARAMS if request.query_params.get(name)
        ]
        if len(given) > 1:
            raise BadRequest("Narrow by one of party, member, document, assignment or user, not several.")
        scope = selectors.Scope()
        if given:
            name, value = given[0]
            if len(value) > 150 or "\x00" in value:
                raise BadRequest(f"{name} is too long or contains invalid characters.")
            if name == "document":
                value = parse_id(value, name="document")
            scope = selectors.scope_for(_SCOPE_PARAMS[name], value, viewer=viewer)
            if scope is None:
                raise NotFound(f"No such {name}.")
        filters = parse_filters(request.query_params)
        listing = Listing(tag=tag_obj, scope=scope, order=Order(order_raw))
        page = selectors.listing_page(
            listing, viewer=viewer, filters=filters, after=request.query_params.get("after") or None
        )
        next_url = None
        if page.next_cursor:
            query = {k: v for k, v in request.query_params.items() if k != "after"}
            query["after"] = page.next_cursor
            next_url = request.build_absolute_uri(
                f"{reverse('api-listing', args=[tag_obj.slug])}?{urlencode(query)}"
            )
        data = s.ListingSerializer(
            {"next": next_url, "results": page.rows}, context={"request": request}
        ).data
        return Response(data)
