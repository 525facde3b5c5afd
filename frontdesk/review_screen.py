"""The review screen's parts that the screen (``frontdesk.views.review``) and the submit's fast
path (``frontdesk.fast_path``) share: the tag set's HTML, the reservations the screen makes, the
image of the following page, and the page shown for a withdrawn page."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from assignments.picker.following import ScreenHolds, pick_following_page, screen_holds
from frontdesk.views_next import picker_identity
from lib.web import error_page
from reviews import selectors


def screen_holds_for(request, assignment, page_id: int, *, confirm: bool) -> ScreenHolds:
    """The screen's reservations, in one Redis round trip (GET only: a HEAD reserves nothing):
    the page's own is made firm (a soft one from /review/next/; a free place taken for a visitor
    who came by a link), and the reviewer's following page is reserved so that the browser can
    prefetch its image (``<link rel="prefetch">``): the submit goes to that page, so Enter shows
    it from the browser's cache (images are ``private, max-age=3600``). Only the image is
    prefetched, never the next screen (it carries a CSRF token and the reviewer's own state)."""
    if assignment is None or request.method != "GET":
        return ScreenHolds()
    user = request.user
    token, address = picker_identity(request)
    return screen_holds(
        assignment=assignment,
        uid=user.pk if user.is_authenticated else None,
        token=token,
        current_page_id=page_id,
        address=address,
        confirm=confirm,
        prefetch=settings.REVIEW_PREFETCH_NEXT,
    )


def image_url(page_id: int | None) -> str | None:
    """The image URL of a page (None: no page, or withdrawn since it was checked)."""
    if page_id is None:
        return None
    name = selectors.page_image_name(page_id)
    return default_storage.url(name) if name else None


def following_page(request, assignment, page_id: int) -> int | None:
    """The reviewer's following page after ``page_id``, reserved for the prefetch (None without
    an assignment or with the prefetch off)."""
    if assignment is None or not settings.REVIEW_PREFETCH_NEXT:
        return None
    user = request.user
    uid = user.pk if user.is_authenticated else None
    token, address = picker_identity(request)
    return pick_following_page(
        assignment=assignment, uid=uid, token=token, current_page_id=page_id, address=address
    )


# The tag set's part of the review screen (its checkboxes and the shortcut list) is the same for
# every reviewer and page: the profile of the review cycle (bench/profile_cycle.py) found its two
# loops were most of the screen's template time. Rendered once per tag set per process and keyed
# by everything it shows, read fresh from Postgres on every request, so an editor's change shows
# at once and nothing can be stale. A handful of tag sets at most: cleared when it grows.
_TAG_CONTROLS: dict[tuple, dict[str, str]] = {}
_TAG_CONTROLS_LIMIT = 16


def tag_controls(keys: selectors.ReviewScreenKeys) -> dict[str, str]:
    """The review form's tag set and shortcut list as HTML, for ``keys``, and a fingerprint of
    them."""
    fingerprint = (
        keys.skip,
        keys.zoom,
        keys.rotate,
        *((c.tag.pk, c.tag.slug, c.tag.name, c.tag.description, c.key) for c in keys.tags),
    )
    found = _TAG_CONTROLS.get(fingerprint)
    if found is None:
        context = {"keys": keys}
        found = {
            # Tells the fast path (static/js/review.js) that the tag set on screen is out of date.
            "fingerprint": hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:16],
            # Autoescaped by the templates: safe to insert as they are.
            "tag_set": mark_safe(render_to_string("reviews/_tag_set.html", context)),  # noqa: S308
            "shortcuts": mark_safe(render_to_string("reviews/_shortcuts.html", context)),  # noqa: S308
        }
        if len(_TAG_CONTROLS) >= _TAG_CONTROLS_LIMIT:
            _TAG_CONTROLS.clear()
        _TAG_CONTROLS[fingerprint] = found
    return found


def withdrawn(request, message: str):
    """410 Gone: the page was taken down (moderation). Not cached by anyone, so reinstating it
    shows at once; the page cache never stores a non-200 either."""
    response = error_page(request, status=410, title="This page has been withdrawn", message=message)
    response["Cache-Control"] = "no-store"
    return response
