"""``/review/next/``: pick a page of the current assignment and go to its review screen."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from assignments.picker import pick_next_page
from assignments.selectors import current_assignment
from lib.web import allow_methods


def _review_url(page_id: int) -> str:
    try:
        return reverse("review", args=[page_id])
    except NoReverseMatch:  # the review screen's route is not there (yet): its contract URL
        return f"/review/{page_id}/"


def next_review_url(request, reviewer) -> str | None:
    """The URL the reviewer goes to next: a page of the current assignment they have not seen
    (picked and reserved now), or the assignment's done page; None without an assignment."""
    assignment = current_assignment(request)
    if assignment is None:
        return None
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    if result.page_id is None:
        return reverse("assignment-done", args=[assignment.slug])
    return _review_url(result.page_id)


@never_cache  # every visit must pick afresh, never a cached redirect to one page
@allow_methods("GET", "HEAD")
def review_next(request):
    """Redirect to a page this reviewer has not seen, or to the assignment's done page.

    Reads only: visitors without an account are reviewers with nothing seen yet (their account
    is created by their first review, never here).
    """
    url = next_review_url(request, request.user)
    if url is None:
        messages.info(request, "Choose an assignment to start reviewing.")
        return redirect(reverse("assignments"))
    return redirect(url)
