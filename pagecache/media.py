"""nginx's copy of the media gate's "yes": page images served without asking Django each time.

In the production shape every ``/media/`` request goes through nginx's ``auth_request`` to the
gate (``moderation.takedown_views.media_gate``: one indexed query), which bounds images per
second by Django, not by nginx. So the gate's *public* answers are kept in memcached, where
nginx looks first (``deploy/nginx.conf.template``, ``/_crowd_media_gate``): a key present means
"serve it", a miss goes to the gate as before. Only public answers are kept (a refusal, and a
staff member's view of a withdrawn page, always ask Django), and only for the canonical URI
(``MEDIA_URL`` + the storage name, no query): any other spelling of it asks Django.

The takedown promise (a withdrawn or re-embargoed page's image refused from the commit on):

- every write that can take a page out of public view declares it (``denorm.changes.changed``:
  withdrawals, reinstatements, embargo decisions, bulk changes) or saves the page or document;
  after commit, the page cache's refresh and receivers call :func:`forget_pages` /
  :func:`forget_documents`, which delete the entries of those pages' images and thumbnails;
- the race (the gate read "public" just before the withdrawal committed, and stores its entry
  just after the withdrawal deleted it) is closed by :func:`remember`: it stores, then reads the
  page's visibility again and deletes the entry if it is no longer public. Either the store came
  before the delete (deleted), or after it, and then the second read follows the commit;
- if memcached refuses a delete (it is failing, but still answering nginx), an entry lives at
  most ``MEDIA_GATE_CACHE_SECONDS``; the failure is logged.

Why not nginx's own ``proxy_cache`` of the gate: open-source nginx cannot purge an entry, so a
withdrawal could only wait for it to expire.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache

from lib import keys
from lib.log_throttle import warn_throttled

log = logging.getLogger("crowd.pagecache")

# The characters nginx's memcached module sends unescaped (it escapes %, spaces and controls):
# a URI with anything else is never stored, so the key Django writes is the one nginx asks for.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
VALUE = b"1"  # what nginx receives (and ignores): a present key is the answer


def seconds() -> int:
    return max(0, int(getattr(settings, "MEDIA_GATE_CACHE_SECONDS", 0)))


def enabled() -> bool:
    return bool(settings.PAGE_CACHE_NGINX) and seconds() > 0


def uri_of(name: str) -> str:
    return f"{settings.MEDIA_URL}{name}"


def remember(uri: str, name: str, still_public: Callable[[], bool]) -> bool:
    """Keep the gate's "public" answer for ``uri`` (the request's raw URI) if it is the canonical
    URI of ``name``; ``still_public`` reads the visibility again after the store (see above).
    True if an entry was left in place."""
    if not enabled() or uri != uri_of(name) or len(uri) > 200 or not set(uri) <= _SAFE:
        return False
    key = keys.nginx_media(uri)
    try:
        cache.set(key, VALUE, timeout=seconds())
    except Exception:  # memcached down: nginx cannot read it either, so nothing to keep
        return False
    if still_public():
        return True
    _delete([key])
    return False


def forget_names(names: Iterable[str]) -> None:
    """Delete the entries of these storage names (images and thumbnails)."""
    _delete([keys.nginx_media(uri_of(name)) for name in names if name])


def forget_pages(page_ids: Iterable[int]) -> None:
    """After commit: these pages' visibility (or files) may have changed."""
    from catalogue.models import Page

    ids = sorted(set(page_ids))
    if not ids or not enabled():
        return
    for start in range(0, len(ids), 5000):
        rows = Page.objects.filter(pk__in=ids[start : start + 5000]).values_list("image", "thumbnail")
        forget_names(name for row in rows for name in row)


def forget_documents(document_ids: Iterable[int]) -> None:
    """After commit: every page of these documents may have changed visibility."""
    from catalogue.models import Page

    ids = sorted(set(document_ids))
    if not ids or not enabled():
        return
    rows = (
        Page.objects.filter(document_id__in=ids).values_list("image", "thumbnail").iterator(chunk_size=5000)
    )
    batch: list[str] = []
    for row in rows:
        batch.extend(row)
        if len(batch) >= 10000:
            forget_names(batch)
            batch = []
    forget_names(batch)


def _delete(keys_: list[str]) -> None:
    if not keys_:
        return
    try:
        cache.delete_many(keys_)
    except Exception:
        warn_throttled(
            log, "pagecache-media", "memcached down: %d image entries not deleted (they expire in %ss)",
            len(keys_), seconds(),
        )  # fmt: skip
