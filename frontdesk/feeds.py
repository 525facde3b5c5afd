"""Atom feeds: one for each in-order listing, and one of discoveries.

A listing's feed carries its newest entries (the tags that arrived last, newest first), with the
same visibility rule and filters as the listing; a reader who wants everything pages through
the in-order listing the feed links to.
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.utils.feedgenerator import Atom1Feed

from frontdesk.results_views import _lookup, listing_url
from results import selectors
from results.params import BadRequest, parse_filters
from results.selectors import Listing, Order, Row, ScopeKind
from reviews.models import Discovery


class _FeedContext:
    def __init__(self, listing: Listing, rows: list[Row], query: dict[str, str]):
        self.listing = listing
        self.rows = rows
        self.query = query


class InOrderFeed(Feed):
    feed_type = Atom1Feed

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except BadRequest as e:
            return HttpResponse(e.message, status=400, content_type="text/plain; charset=utf-8")

    def get_object(self, request: HttpRequest, *, kind: ScopeKind, tag: str, value=None) -> _FeedContext:
        viewer, tag_obj, scope = _lookup(request, kind=kind, tag=tag, value=value)
        filters = parse_filters(request.GET)
        listing = Listing(tag=tag_obj, scope=scope, order=Order.LATEST)
        rows = selectors.listing_page(
            listing, viewer=viewer, filters=filters, limit=selectors.FEED_LIMIT
        ).rows
        return _FeedContext(listing, rows, filters.as_query())

    def title(self, obj: _FeedContext) -> str:
        where = f" — {obj.listing.scope.label}" if obj.listing.scope.obj is not None else ""
        return f"Pages tagged “{obj.listing.tag.name}”{where}"

    def link(self, obj: _FeedContext) -> str:
        return listing_url(obj.listing, order=Order.IN_ORDER, query=obj.query)

    def feed_url(self, obj: _FeedContext) -> str:
        return listing_url(obj.listing, order=Order.IN_ORDER, feed=True, query=obj.query)

    def subtitle(self, obj: _FeedContext) -> str:
        return (
            "Newest first: each entry is a page that got this tag. Only pages the public may see are listed."
        )

    def items(self, obj: _FeedContext) -> list[Row]:
        return obj.rows

    def item_title(self, item: Row) -> str:
        return f"{item.page.document.title}, page {item.page.number}"

    def item_description(self, item: Row) -> str:
        member = item.page.document.member
        by = f" Papers of {member.name}." if member else ""
        return f"{item.count} of {item.reviews} reviewers tagged this page “{item.tag.name}”.{by}"

    def item_link(self, item: Row) -> str:
        return item.page.get_absolute_url()

    def item_guid(self, item: Row) -> str:
        return f"urn:crowd-review:page:{item.page.pk}:tag:{item.tag.pk}"

    def item_guid_is_permalink(self, item: Row) -> bool:
        return False

    def item_pubdate(self, item: Row):
        return item.at

    def item_updateddate(self, item: Row):
        return item.at


class DiscoveryFeed(Feed):
    feed_type = Atom1Feed
    title = "Discoveries"
    subtitle = "Pages editors highlighted, newest first."

    def link(self) -> str:
        from django.urls import reverse

        return reverse("discoveries")

    def items(self) -> list[Discovery]:
        return selectors.latest_discoveries(limit=selectors.FEED_LIMIT)

    def item_title(self, item: Discovery) -> str:
        return item.title

    def item_description(self, item: Discovery) -> str:
        credit = f" First highlighted by {item.credited.get_username()}." if item.credited else ""
        return f"{item.note}{credit}"

    def item_link(self, item: Discovery) -> str:
        return item.page.get_absolute_url()

    def item_guid(self, item: Discovery) -> str:
        return f"urn:crowd-review:discovery:{item.pk}"

    def item_guid_is_permalink(self, item: Discovery) -> bool:
        return False

    def item_pubdate(self, item: Discovery):
        return item.created
