"""/api/search/: the same search as /search/, as JSON, in the OpenAPI schema. Cursor pagination
(``after`` from ``next``), one result per document by default, every page with ``pages=all``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError, Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from results.params import BadRequest, parse_min_agreement
from results.selectors import viewer_for
from search import query as search_query
from search import selectors
from search.ratelimit import hit_search


class PageHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="page.pk")
    number = serializers.IntegerField(source="page.number")
    url = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()
    snippet = serializers.CharField(help_text="HTML: the text around the words, which are in <mark>.")
    rank = serializers.IntegerField()
    hidden = serializers.CharField(
        source="hidden_reason", help_text="staff only: why the public cannot see it"
    )

    def get_url(self, hit) -> str:
        path = hit.page.get_absolute_url()
        if hit.text_query:
            path += "?" + urlencode({"q": hit.text_query})
        return self.context["request"].build_absolute_uri(path)

    def get_thumbnail(self, hit) -> str:
        return self.context["request"].build_absolute_uri(hit.page.thumbnail.url)


class DocumentHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="document_id")
    title = serializers.CharField(source="document.title")
    member = serializers.SerializerMethodField()
    party = serializers.SerializerMethodField()
    hits = serializers.IntegerField(help_text="matching pages in the document")
    rank = serializers.IntegerField()
    pages = PageHitSerializer(many=True, help_text="its best pages")

    def get_member(self, hit) -> str | None:
        member = hit.document.member if hit.document else None
        return member.slug if member else None

    def get_party(self, hit) -> str | None:
        member = hit.document.member if hit.document else None
        return member.party.slug if member and member.party else None


class SearchResponseSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="URL of the next page of results, or null.")
    documents = DocumentHitSerializer(many=True, help_text="one per document (without pages=all)")
    pages = PageHitSerializer(many=True, help_text="every matching page (with pages=all)")
    note = serializers.CharField()


class SearchView(APIView):
    """Full-text search over the pages' text, with the filters of /search/."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description='words, "exact phrase", or, -excluded; filters tag:, member:, party:, '
                "document:, assignment:, reviewed:yes|no",
            ),
            OpenApiParameter(
                "pages", str, enum=["all"], description="every matching page, not one per document"
            ),
            OpenApiParameter(
                "min_agreement", str, description="with tag:, share of the page's reviewers, 0-1"
            ),
            OpenApiParameter("limit", int, description=f"results per page, at most {selectors.MAX_LIMIT}"),
            OpenApiParameter("after", OpenApiTypes.STR, description="cursor from `next`"),
        ],
        responses=SearchResponseSerializer,
    )
    def get(self, request):
        try:
            return self._get(request)
        except BadRequest as e:
            raise ParseError(e.message) from None

    def _get(self, request) -> Response:
        params = request.query_params
        parsed = search_query.parse(params.get("q", ""))
        if parsed.empty:
            raise BadRequest("Add a search: ?q=.")
        min_agreement = parse_min_agreement(params)
        limit_raw = params.get("limit") or str(selectors.DEFAULT_LIMIT)
        if (
            not limit_raw.isascii()
            or not limit_raw.isdigit()
            or not 1 <= int(limit_raw[:4]) <= selectors.MAX_LIMIT
        ):
            raise BadRequest(f"limit must be a whole number from 1 to {selectors.MAX_LIMIT}.")
        limited = hit_search(request)
        if limited is not None:
            raise Throttled(wait=limited.retry_after)
        every_page = params.get("pages") == "all"
        results = selectors.search(
            parsed,
            viewer=viewer_for(request.user),
            every_page=every_page,
            min_agreement=min_agreement,
            after=params.get("after") or None,
            limit=int(limit_raw),
        )
        next_url = None
        if results.next_cursor:
            query = {k: v for k, v in params.items() if k != "after"}
            query["after"] = results.next_cursor
            next_url = request.build_absolute_uri(f"{reverse('api-search')}?{urlencode(query)}")
        data = SearchResponseSerializer(
            {"next": next_url, "documents": results.documents, "pages": results.pages, "note": results.note},
            context={"request": request},
        ).data
        return Response(data)
