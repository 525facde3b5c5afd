"""Part of a page cached like a whole page: for a page that is never cached as a whole (it shows
the reader's own state) but has an expensive part that is the same for everyone (an
assignment's charts: ``results.charts``).

The part is stored under a page-cache key (``keys.cached_page``) whose digest carries the current
values of the generations it shows, so it is invalidated exactly as cached pages are (a write
bumps a generation after commit; counts within ``PAGE_CACHE_SOFT_SECONDS``) and abandoned with
them when the ``page-cache-generations`` entry is rebuilt (``epoch`` is in every key). Nothing is
ever searched for and deleted. With the page cache off, or memcached down, it is computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from lib import keys
from pagecache import generations

T = TypeVar("T")
SECONDS = 600  # a safety net: the generations make entries current


def cached(name: str, names: Iterable[str], compute: Callable[[], T], *, seconds: int = SECONDS) -> T:
    """``compute()``, or what it returned for ``name`` under the current generations ``names``
    (``epoch`` is always among them). ``name`` must say everything else the value depends on
    (the object, and the clock's hour when the value shows the time)."""
    if not settings.PAGE_CACHE_ENABLED:
        return compute()
    values = generations.read({generations.EPOCH, *names})
    if values is None:  # memcached down: as if there were no cache
        return compute()
    text = "fragment\n" + name + "\n" + ",".join(f"{n}={values[n]}" for n in sorted(values))
    key = keys.cached_page(hashlib.sha256(text.encode()).hexdigest())
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, timeout=seconds)
    return value
