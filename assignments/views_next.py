"""``/review/next/``: pick a page of the current assignment and go to its review screen."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from assignments import picker_stats
from assignments.models import Assignment
from assignments.picker import pick_next_page
from assignments.selectors import assignments_needing_reviews, current_assignment
from assignments.views import set_current_assignment
from lib.web import allow_methods

# Other assignments tried when every page of the current one is fully reserved by others.
OTHERS_TRIED = 5


def _review_url(page_id: int) -> str:
    try:
        return reverse("review", args=[page_id])
    except NoReverseMatch:  # the review screen's route is not there (yet): its contract URL
        return f"/review/{page_id}/"


def browser_token(request) -> str | None:
    """What identifies an anonymous visitor's browser to the picker, so that asking again
    returns the page it holds: a digest of its session key when it has a session, else of its
    CSRF cookie; never the value itself. It grants nothing but that: the same reservation back
    (no review, no account, no history is tied to it)."""
    if getattr(request.user, "is_authenticated", False):
        return None
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        source = "s" + session.session_key
    elif cookie := request.COOKIES.get(settings.CSRF_COOKIE_NAME):
        source = "c" + cookie
    else:
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:32]


def screen_token(request) -> str | None:
    """``browser_token`` for the review screen, which always sends the CSRF cookie: a first-time
    visitor has none yet, so the one this response sets is used (``get_token`` makes it; the
    template would anyway), and their submit, which carries it, finds the same token."""
    if getattr(request.user, "is_authenticated", False):
        return None
    session = getattr(request, "session", None)
    if (session is None or not session.session_key) and not request.COOKIES.get(settings.CSRF_COOKIE_NAME):
        get_token(request)
        secret = request.META.get("CSRF_COOKIE")
        return hashlib.sha256(("c" + secret).encode()).hexdigest()[:32] if secret else None
    return browser_token(request)


def next_review_target(request, reviewer) -> tuple[int | None, str | None]:
    """``(page_id, url)`` of where the reviewer goes next: a page of the current assignment they
    have not seen (picked and reserved now) and its review screen; or no page and /review/next/
    when every page left is held by others (it finds help elsewhere and switches the current
    assignment), or the done page; ``(None, None)`` without an assignment."""
    assignment = current_assignment(request)
    if assignment is None:
        return None, None
    result = pick_next_page(assignment=assignment, reviewer=reviewer, token=browser_token(request))
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
    token = browser_token(request)
    result = pick_next_page(assignment=assignment, reviewer=request.user, token=token)
    if result.page_id is not None:
        return redirect(_review_url(result.page_id))
    if result.source != picker_stats.BUSY:
        return redirect(reverse("assignment-done", args=[assignment.slug]))
    others = assignments_needing_reviews(exclude_id=assignment.pk, limit=OTHERS_TRIED)
    others.sort(key=lambda a: a.featured == Assignment.Featured.NONE)  # featured first (stable)
    for other in others:
        elsewhere = pick_next_page(assignment=other, reviewer=request.user, token=token)
        if elsewhere.page_id is not None:
            messages.info(
                request,
                f"Every remaining page of “{assignment.title}” is being looked at by other reviewers "
                f"right now, so here is a page of “{other.title}”, which needs help.",
            )
            return set_current_assignment(redirect(_review_url(elsewhere.page_id)), other)
    return redirect(reverse("assignment-busy", args=[assignment.slug]))
