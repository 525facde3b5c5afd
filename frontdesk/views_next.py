"""``/review/next/``: pick a page of the current assignment and go to its review screen."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from assignments import picker_stats
from assignments.models import Assignment
from assignments.picker import pick_next_page
from assignments.selectors import assignments_needing_reviews, current_assignment
from frontdesk.assignment_views import set_current_assignment
from lib import ratelimit
from lib.ratelimit import Exceeded, Limit, client_address
from lib.visitor import ensure_visitor_id
from lib.web import allow_methods

# Other assignments tried when every page of the current one is fully reserved by others.
OTHERS_TRIED = 5


def _review_url(page_id: int) -> str:
    try:
        return reverse("review", args=[page_id])
    except NoReverseMatch:  # the review screen's route is not there (yet): its contract URL
        return f"/review/{page_id}/"


def picker_identity(request) -> tuple[str, str]:
    """``(token, address)`` the picker holds pages under for this request: the visitor (see
    ``lib.visitor``: one id from the browser's first request to its last, signed in or not, so a
    first review, a claim or a login leaves their reservations theirs) and the client address
    its reservations count against (``PICKER_MAX_HOLDS_PER_ADDRESS``)."""
    return ensure_visitor_id(request), client_address(request)


def _pick_limited(request) -> Exceeded | None:
    """Anonymous ``/review/next/`` requests per address (each may reserve a page)."""
    if getattr(request.user, "is_authenticated", False):
        return None
    limit = Limit(
        "next-address", client_address(request), settings.RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE, 60
    )
    return ratelimit.hit([limit])


def next_review_target(request, reviewer) -> tuple[int | None, str | None]:
    """``(page_id, url)`` of where the reviewer goes next: a page of the current assignment they
    have not seen (picked and reserved now) and its review screen; or no page and /review/next/
    when every page left is held by others (it finds help elsewhere and switches the current
    assignment), or the done page; ``(None, None)`` without an assignment."""
    assignment = current_assignment(request)
    if assignment is None:
        return None, None
    token, address = picker_identity(request)
    result = pick_next_page(assignment=assignment, reviewer=reviewer, token=token, address=address)
    if result.page_id is not None:
        return result.page_id, _review_url(result.page_id)
    if result.source == picker_stats.BUSY:
        return None, reverse("review-next")
    return None, reverse("assignment-done", args=[assignment.slug])


@never_cache  # every visit must pick afresh, never a cached redirect to one page
@allow_methods("GET", "HEAD")
def review_next(request):
    """Redirect to a page this reviewer has not seen, or to the assignment's done page.

    No dead ends: when every page the reviewer could review is fully reserved by others right
    now, the reviewer goes to a page of the featured assignment that most needs help (with a
    message saying why), or, when none has one, to the assignment's "busy" page (try again in a
    minute). The done page means done.

    Reads only: visitors without an account are reviewers with nothing seen yet (their account
    is created by their first review, never here).
    """
    assignment = current_assignment(request)
    if assignment is None:
        messages.info(request, "Choose an assignment to start reviewing.")
        return redirect(reverse("assignments"))
    limited = _pick_limited(request)
    if limited is not None:
        response = render(
            request, "429.html", {"limited": limited, "retry_url": reverse("review-next")}, status=429
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    token, address = picker_identity(request)
    # Soft: anyone can ask this URL, so what it hands out may be taken over by a reviewer who
    # needs a page until its review screen is loaded (assignments.picker.holds.confirm_page).
    result = pick_next_page(
        assignment=assignment, reviewer=request.user, token=token, address=address, soft=True
    )
    if result.page_id is not None:
        return redirect(_review_url(result.page_id))
    if result.source != picker_stats.BUSY:
        return redirect(reverse("assignment-done", args=[assignment.slug]))
    others = assignments_needing_reviews(exclude_id=assignment.pk, limit=OTHERS_TRIED)
    others.sort(key=lambda a: a.featured == Assignment.Featured.NONE)  # featured first (stable)
    for other in others:
        elsewhere = pick_next_page(
            assignment=other, reviewer=request.user, token=token, address=address, soft=True
        )
        if elsewhere.page_id is not None:
            messages.info(
                request,
                f"Every remaining page of “{assignment.title}” is being looked at by other reviewers "
                f"right now, so here is a page of “{other.title}”, which needs help.",
            )
            return set_current_assignment(redirect(_review_url(elsewhere.page_id)), other)
    return redirect(reverse("assignment-busy", args=[assignment.slug]))
