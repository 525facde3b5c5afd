"""Public assignment pages: the list, one assignment, start (sets the cookie), done and busy."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from assignments.models import Assignment
from assignments.picker import soonest_expiry_seconds
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE, assignments_needing_reviews
from contributors import leaderboards
from contributors import selectors as credit
from lib.web import allow_methods, is_staff

# The current-assignment cookie outlives a news cycle; a stale one falls back to the main one.
CURRENT_ASSIGNMENT_MAX_AGE = 60 * 60 * 24 * 30


# How many pages a staff preview of a draft shows.
PREVIEW_PAGES = 12


def _visible_assignment_or_404(request, slug: str) -> Assignment:
    """The assignment at ``slug`` if this visitor may see it: drafts are for staff only (404 for
    everyone else, as if they did not exist)."""
    assignment = get_object_or_404(Assignment, slug=slug)
    if assignment.is_draft and not is_staff(request.user):
        raise Http404("No such assignment")
    return assignment


@allow_methods("GET", "HEAD")
def assignment_list(request):
    # Active implies published (a draft is never active): drafts are never listed.
    assignments = list(Assignment.objects.filter(active=True).order_by("feature_order", "title"))
    return render(request, "assignments/list.html", {"assignments": assignments})


@never_cache  # a draft's preview must never be stored by a shared cache
@allow_methods("GET", "HEAD")
def assignment_detail(request, slug: str):
    assignment = _visible_assignment_or_404(request, slug)
    context = {
        "assignment": assignment,
        "top_reviewers": credit.board_table(
            leaderboards.Board(leaderboards.ASSIGNMENT, assignment.pk), viewer=request.user
        ),
    }
    if assignment.is_draft:
        # The staff preview: the public page as it will look, plus a sample of the pages it covers.
        context["preview_pages"] = list(
            assignment.pages().select_related("document").order_by("document_id", "number")[:PREVIEW_PAGES]
        )
    return render(request, "assignments/detail.html", context)


@allow_methods("GET", "HEAD")
def assignment_start(request, slug: str):
    """Make this the reviewer's current assignment and go straight to a page of it.

    A GET on purpose: it is the big "start" link on the home page. It writes nothing but a
    cookie, so a crawler following it changes nothing either.
    """
    assignment = get_object_or_404(Assignment, slug=slug, active=True)
    return set_current_assignment(redirect("review-next"), assignment)


def set_current_assignment(response, assignment: Assignment):
    """``response`` with the cookie naming ``assignment`` as the reviewer's current one."""
    response.set_cookie(
        CURRENT_ASSIGNMENT_COOKIE,
        assignment.slug,
        max_age=CURRENT_ASSIGNMENT_MAX_AGE,
        samesite="Lax",
        httponly=True,
    )
    return response


@allow_methods("GET", "HEAD")
def assignment_done(request, slug: str):
    """Nothing left in this assignment for this reviewer: offer those that most need reviews."""
    assignment = _visible_assignment_or_404(request, slug)
    return render(
        request,
        "assignments/done.html",
        {"assignment": assignment, "others": assignments_needing_reviews(exclude_id=assignment.pk)},
    )


# The busy page asks again by itself after the soonest reservation expiry, within these bounds
# (seconds): not sooner (a submit frees a place before then, but a page reload per second per
# waiting visitor helps nobody), not later (places also come free on submit and skip).
BUSY_RETRY_MIN_SECONDS = 3
BUSY_RETRY_MAX_SECONDS = 20


@never_cache
@allow_methods("GET", "HEAD")
def assignment_busy(request, slug: str):
    """Every page of this assignment the reviewer could review is fully reserved by others right
    now (not done): says how long the wait is at most (the soonest reservation expiry), offers
    the assignments with work, and asks ``/review/next/`` again by itself (a meta refresh: no
    script needed) without losing the reviewer's place in their current assignment. A draft's
    is staff only (a 404 for the public, which must not learn its title nor that the slug
    exists)."""
    assignment = _visible_assignment_or_404(request, slug)
    wait = soonest_expiry_seconds(assignment.pk)
    retry = BUSY_RETRY_MAX_SECONDS if wait is None else int(wait) + 1
    retry = max(BUSY_RETRY_MIN_SECONDS, min(BUSY_RETRY_MAX_SECONDS, retry))
    response = render(
        request,
        "assignments/busy.html",
        {
            "assignment": assignment,
            "others": assignments_needing_reviews(exclude_id=assignment.pk),
            "wait_seconds": None if wait is None else int(wait) + 1,
            "retry_seconds": retry,
        },
    )
    response["Retry-After"] = str(retry)
    return response
