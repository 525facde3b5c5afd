"""The review screen's fast path (static/js/review.js): with scripts, the browser sends the review
form with fetch() and ``Accept: application/json``, and the submit answers with the next screen's
data instead of a redirect to it; the script swaps the page in place (its image was prefetched
while the reviewer looked at this one). A review cycle is then one request, not two: no second
pass through the middleware, no screen template, no second session and user read. Without
scripts (or with REVIEW_FAST_PATH off) the form posts and follows the redirect."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse

from frontdesk.review_screen import following_page, tag_controls
from reviews import selectors


def wants_next_screen(request) -> bool:
    return settings.REVIEW_FAST_PATH and "application/json" in request.headers.get("Accept", "")


def next_screen(
    request, assignment, next_id: int | None, url: str, *, recorded: bool, own_count: int | None
) -> JsonResponse:
    """The JSON answer of the fast path: what the script needs to show ``next_id``'s review
    screen, or ``"page": null`` and the URL to go to (the done page, /review/next/ when every
    page is held by others, or a page that cannot be shown here). Public facts of a page the
    picker just handed this reviewer (so not one they reviewed: the picker's check), plus their
    own count (``own_count``: the submit's; None after a skip, then read), the assignment's
    progress with this review, and a fresh CSRF token (a first submit logs the new reviewer in,
    which rotates it)."""
    answer: dict[str, Any] = {"url": url, "page": None, "csrf": get_token(request), "recorded": recorded}
    if next_id is None:
        return JsonResponse(answer)
    following = following_page(request, assignment, next_id)
    screen = selectors.next_screen(
        page_id=next_id, following_id=following, assignment_id=assignment.pk if assignment else None
    )
    if screen is None:  # withdrawn since the pick: the screen says so itself
        return JsonResponse(answer)
    page = screen.page
    if assignment is not None and screen.progress is not None:
        assignment.page_count, assignment.completed_count, assignment.review_count = screen.progress
    if own_count is None:  # a skip: their count as it stands
        own_count = selectors.reviewer_status(user=request.user, page_id=0, reviewed=False)[0]
    answer.update(
        page={
            "id": page.id,
            "number": page.number,
            "title": page.title,
            "page_count": page.page_count,
            "member": page.member,
            "image": default_storage.url(page.image),
            "width": page.width,
            "height": page.height,
            "detail_url": reverse("page", args=[page.id]),
            "rotation": screen.rotation,
        },
        own_count=own_count,
        tagset=tag_controls(selectors.review_screen_keys())["fingerprint"],
        prefetch=default_storage.url(screen.following_image) if screen.following_image else None,
        progress=render_to_string("_progress.html", {"a": assignment}) if assignment else None,
    )
    return JsonResponse(answer)
