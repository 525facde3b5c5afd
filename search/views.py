"""Search pages: /search/ (HTML), its Atom feed and its streamed export. Views parse and
validate; the reads are :mod:`search.selectors`, the export :mod:`search.exports`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_safe

from results.params import BadRequest, parse_min_agreement
from results.selectors import viewer_for
from search import query as search_query
from search import selectors
from search.ratelimit import hit_search

FEED_LIMIT = 50


def _too_many(request: HttpRequest, limited, *, plain: bool = False) -> HttpResponse:
    if plain:
        response = HttpResponse(
            f"Too many searches from this address: try again in {limited.retry_after} s.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    else:
        response = render(
            request,
            "error.html",
            {
                "title": "Slow down a little",
                "message": f"Too many searches from this address ({limited.limit} a minute). "
                f"Try again in about {limited.retry_after} seconds.",
                "status": 429,
            },
            status=429,
        )
    response["Retry-After"] = str(limited.retry_after)
    return response


def _bad(request: HttpRequest, message: str, context: dict | None = None) -> HttpResponse:
    return render(request, "search/search.html", {**(context or {}), "error": message}, status=400)


def search_url(q: str, **extra) -> str:
    params = {"q": q, **{k: v for k, v in extra.items() if v not in (None, "")}}
    return f"{reverse('search')}?{urlencode(params)}"


@require_safe
def search_page(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    within = request.GET.get("document", "")
    if within and raw.strip():
        # The document page's search box: the same search, scoped with the document: filter.
        raw = f"{raw} document:{within[:20]}"
    every_page = request.GET.get("pages") == "all"
    context = {
        "q": raw[: search_query.MAX_QUERY_CHARS],
        "every_page": every_page,
        "max_chars": search_query.MAX_QUERY_CHARS,
    }
    try:
        parsed = search_query.parse(raw)
        min_agreement = parse_min_agreement(request.GET)
    except BadRequest as e:
        return _bad(request, e.message, context)
    if parsed.empty:
        return render(request, "search/search.html", context)
    limited = hit_search(request)
    if limited is not None:
        return _too_many(request, limited)
    viewer = viewer_for(request.user)
    try:
        results = selectors.search(
            parsed,
            viewer=viewer,
            every_page=every_page,
            min_agreement=min_agreement,
            after=request.GET.get("after") or None,
        )
    except BadRequest as e:
        return _bad(request, e.message, context)
    extra = {"min_agreement": request.GET.get("min_agreement", "")}
    mode = {"pages": "all"} if every_page else {}
    next_url = search_url(raw, **extra, **mode, after=results.next_cursor) if results.next_cursor else None
    context.update(
        results=results,
        viewer=viewer,
        text_query=parsed.text,
        next_url=next_url,
        documents_url=search_url(raw, **extra),
        pages_url=search_url(raw, **extra, pages="all"),
        feed_url=f"{reverse('search-feed')}?{urlencode({'q': raw, **{k: v for k, v in extra.items() if v}})}",
        export_csv=f"{reverse('search-export', args=['csv'])}?{urlencode({'q': raw, **{k: v for k, v in extra.items() if v}})}",
        export_jsonl=f"{reverse('search-export', args=['jsonl'])}?{urlencode({'q': raw, **{k: v for k, v in extra.items() if v}})}",
    )
    return render(request, "search/search.html", context)


class _FeedContext:
    def __init__(self, raw: str, hits):
        self.raw = raw
        self.hits = hits


class SearchFeed(Feed):
    """ "New pages matching this search": the newest matching pages first (a reporter's alert)."""

    feed_type = Atom1Feed

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        limited = hit_search(request)
        if limited is not None:
            return _too_many(request, limited, plain=True)
        try:
            return super().__call__(request, *args, **kwargs)
        except BadRequest as e:
            return HttpResponse(e.message, status=400, content_type="text/plain; charset=utf-8")

    def get_object(self, request: HttpRequest) -> _FeedContext:
        raw = request.GET.get("q", "")
        parsed = search_query.parse(raw)
        if parsed.empty:
            raise BadRequest("A feed needs a search: add ?q=.")
        hits = selectors.newest_pages(
            parsed,
            viewer=viewer_for(request.user),
            min_agreement=parse_min_agreement(request.GET),
            limit=FEED_LIMIT,
        )
        return _FeedContext(parsed.as_text(), hits)

    def title(self, obj: _FeedContext) -> str:
        return f"Crowd review: pages matching {obj.raw}"

    def link(self, obj: _FeedContext) -> str:
        return search_url(obj.raw, pages="all")

    def description(self, obj: _FeedContext) -> str:
        return "The newest pages matching this search."

    def items(self, obj: _FeedContext):
        return obj.hits

    def item_title(self, hit) -> str:
        return f"{hit.page.document.title}, page {hit.page.number}"

    def item_description(self, hit) -> str:
        return str(hit.snippet)

    def item_link(self, hit) -> str:
        return (
            f"{hit.page.get_absolute_url()}?{urlencode({'q': hit.text_query})}"
            if hit.text_query
            else hit.page.get_absolute_url()
        )

    def item_guid(self, hit) -> str:
        return f"page-{hit.page.pk}"

    def item_updateddate(self, hit):
        return hit.updated

    def item_pubdate(self, hit):
        return hit.updated


@require_safe
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    from search.exports import export_response

    limited = hit_search(request)
    if limited is not None:
        return _too_many(request, limited, plain=True)
    try:
        parsed = search_query.parse(request.GET.get("q", ""))
        if parsed.empty:
            raise BadRequest("An export needs a search: add ?q=.")
        return export_response(
            parsed,
            viewer=viewer_for(request.user),
            min_agreement=parse_min_agreement(request.GET),
            fmt=fmt,
        )
    except BadRequest as e:
        return HttpResponse(e.message, status=400, content_type="text/plain; charset=utf-8")
