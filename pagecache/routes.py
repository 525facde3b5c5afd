"""Which routes are cached, and the generations each one shows.

Only the public pages listed here are ever cached; everything else (the review screen,
``/review/next/``, assignment start/done, accounts, profiles, staff pages, the admin, the API with
its per-address throttle, exports) always reaches its view. One assignment's page is not listed:
it shows the reader's own progress (``never_cache`` in frontdesk/assignment_views.py); the middleware
would refuse to store it anyway (``private``/``no-store``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import ResolverMatch

from pagecache import generations as g


@dataclass(frozen=True)
class Route:
    generations: tuple[str, ...]
    seconds: int  # how long the entry may live (the generations invalidate it sooner)
    nginx: bool = True  # HTML that nginx may serve from memcached
    settles: bool = False  # shows only what is older than RESULTS_IN_ORDER_SETTLE_SECONDS

    def time_part(self, now: float) -> str:
        """Added to the key of pages whose content changes with time alone: in-order listings
        show reviews once they are older than the settle time, with no write to bump anything."""
        if not self.settles:
            return ""
        settle = settings.RESULTS_IN_ORDER_SETTLE_SECONDS
        return f"settle={settle}:{int(now // settle) if settle > 0 else 0}"


_LONG = 600  # a safety net only: the generations are what make entries current

_FIXED: dict[str, tuple[str, ...]] = {
    "home": (g.CATALOGUE, g.ASSIGNMENTS, g.DISCOVERIES, g.COUNTS),
    "assignments": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "tags": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "parties": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "party": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "members": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "member": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "document": (g.CATALOGUE, g.ASSIGNMENTS, g.COUNTS),
    "discoveries": (g.CATALOGUE, g.DISCOVERIES),
    "discoveries-feed": (g.CATALOGUE, g.DISCOVERIES),
}
_LISTING_SCOPES = ("", "party-", "member-", "document-", "assignment-", "user-")


def route_for(match: ResolverMatch) -> Route | None:
    name = match.url_name or ""
    kwargs = match.kwargs
    if name in _FIXED:
        return Route((g.EPOCH, *_FIXED[name]), _LONG, nginx=not name.endswith("-feed"))
    if name == "page":
        # Whether a page shows its tags publicly depends on the thresholds of the open
        # assignments containing it (the lowest one).
        names = (g.EPOCH, g.CATALOGUE, g.ASSIGNMENTS, g.DISCOVERIES, g.page(kwargs["page_id"]))
        return Route(names, _LONG)
    in_order = name.startswith("in-order-")
    feed = name.endswith("-feed")
    base = name.removeprefix("in-order-").removesuffix("-feed")
    if base.endswith("tag") and base.removesuffix("tag") in _LISTING_SCOPES and "tag" in kwargs:
        # Which pages a public listing shows follows PageTag.listed_at, re-derived after an
        # assignment changes; this cache's refresh runs after that one and bumps assignments.
        names = [g.EPOCH, g.CATALOGUE, g.ASSIGNMENTS, g.tag(kwargs["tag"])]
        # In-order listings leave out reviews younger than the settle time; those appear without
        # any write bumping a generation, so such entries live no longer than that.
        settle = settings.RESULTS_IN_ORDER_SETTLE_SECONDS
        seconds = max(1, settle) if in_order and settle > 0 else _LONG
        return Route(tuple(names), seconds, nginx=not feed, settles=in_order)
    return None
