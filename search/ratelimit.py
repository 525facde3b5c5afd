"""Anonymous searches per address per minute (``RATE_LIMIT_SEARCH_PER_MINUTE``), a sliding window
in Redis shared by every web process (``lib.ratelimit``). Staff and reviewers who claimed their
account are not limited; visitors and unclaimed ``anon-`` accounts are. A full-text search costs
far more than a page view: this keeps a scraper from turning it into a load test."""

from __future__ import annotations

from django.conf import settings

from lib import ratelimit as limiter
from lib.ratelimit import Exceeded, Limit, client_address
from lib.web import is_staff
from reviews.selectors import is_anonymous_reviewer


def is_limited_user(user) -> bool:
    if not user.is_authenticated:
        return True
    if is_staff(user):
        return False
    return is_anonymous_reviewer(user)


def hit_search(request) -> Exceeded | None:
    """Count one search; the limit it broke, or None (always None for unlimited users)."""
    if not is_limited_user(request.user):
        return None
    limit = Limit("search", client_address(request), settings.RATE_LIMIT_SEARCH_PER_MINUTE, 60)
    return limiter.hit([limit])
