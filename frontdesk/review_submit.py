"""POST /review/<id>/: record a review or a skip, then go straight to the next page.

In order, each step a function of its own: the rate limit of anonymous writes
(:func:`rate_limited`), the write itself, which for a visitor without an account is also the
first write that creates it (:func:`write`), picking the next page (:func:`next_target`), and
the answer: a redirect, or the next screen's JSON on the fast path (``frontdesk.fast_path``).
Refusals become their error pages (:func:`review_error`). The view parses and validates; the
writes go through ``reviews.actions``, the account's request side through ``reviews.sessions``.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError
from django.shortcuts import redirect, render
from django.urls import reverse

from assignments import visibility
from assignments.picker.following import take_following_page
from assignments.picker.scripts import holder_for
from assignments.selectors import current_assignment
from frontdesk.fast_path import next_screen, wants_next_screen
from frontdesk.review_screen import withdrawn
from frontdesk.views_next import next_review_target, picker_identity
from lib.web import error_page
from reviews import auth, held_views, ratelimit, selectors, sessions
from reviews.account_rules import AccountError
from reviews.actions import ReviewError, skip_page, submit_review
from reviews.forms import ReviewForm


def next_page_url() -> str:
    return reverse("review-next")


def record(request, page_id: int):
    """Record the form's review or skip of ``page_id``, then answer with the next page."""
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return error_page(
            request,
            status=400,
            title="Choose submit or skip",
            message="The form did not say whether to submit or skip this page. Nothing was recorded.",
            retry_url=reverse("review", args=[page_id]),
        )
    limited = rate_limited(request, page_id)
    if limited is not None:
        return limited
    assignment = current_assignment(request)
    logged_out = not request.user.is_authenticated
    # The visitor the page (and their following page) is reserved for: the same name before and
    # after this submit, even when it is their first and makes their account (lib.visitor).
    token, _ = picker_identity(request)
    try:
        written = write(request, form, page_id, assignment=assignment, holder=holder_for(None, token)[0])
    except ReviewError as exc:
        return review_error(request, page_id, exc)
    except sessions.TooManyAccounts as exc:
        # Nothing lost: the review is held in the session and recorded on login, on saving an
        # account, or when the window allows (reviews.held_reviews).
        return held_views.limited(
            request,
            page_id=page_id,
            action=form.cleaned_data["action"],
            tag_slugs=form.tag_slugs,
            assignment_id=assignment.pk if assignment else None,
            limited=exc.limited,
        )
    except AccountError as exc:  # the first submit of this browser is still running
        return error_page(
            request,
            status=409,
            title="Still recording your previous submit",
            message=f"{exc.message} Nothing was recorded this time.",
            retry_url=reverse("review", args=[page_id]),
        )
    user = written.reviewer
    auth.forget_loaded_reviewer(user)  # the review changed their row: read it afresh from here on
    if logged_out:
        sessions.log_in_anonymous_reviewer(request, user)
    next_id, url = next_target(request, user, assignment, token=token, page_id=page_id)
    if wants_next_screen(request):
        return next_screen(
            request, assignment, next_id, url, recorded=written.recorded, own_count=written.own_count
        )
    return redirect(url)


def rate_limited(request, page_id: int):
    """The 429 page when this write of an anonymous reviewer (no account, or an unclaimed one)
    breaks a rate limit (``reviews.ratelimit``); None when it may proceed."""
    user = request.user
    if user.is_authenticated and not selectors.is_anonymous_reviewer(user):
        return None
    limited = ratelimit.hit_anonymous_write(request)
    if limited is None:
        return None
    retry_url = reverse("review", args=[page_id])
    response = render(request, "429.html", {"limited": limited, "retry_url": retry_url}, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


class Written(NamedTuple):
    reviewer: Any  # the reviewer, their account new when this was their first write
    recorded: bool  # a review was created (False: a skip, or a review they had already made)
    own_count: int | None  # their reviews with this one (None after a skip)


def write(request, form: ReviewForm, page_id: int, *, assignment, holder: str) -> Written:
    """The skip or the review, through the actions.

    The first write, never a visit, creates the account (crawlers only GET), in one transaction
    with the review: a refused review (bad tag, forged page) leaves no stray account. A double
    submit of that first write gets the same account (see reviews.sessions). Known reviewers
    need no transaction beyond the action's own."""
    logged_out = not request.user.is_authenticated
    with sessions.first_write_account(request) if logged_out else nullcontext(request.user) as user:
        if form.cleaned_data["action"] == "skip":
            skip_page(reviewer=user, page_id=page_id, only_open_pages=True, holder=holder)
            return Written(user, recorded=False, own_count=None)
        outcome = submit_review(
            reviewer=user,
            page_id=page_id,
            tag_slugs=form.tag_slugs,
            assignment_id=assignment.pk if assignment else None,
            only_open_pages=True,
            holder=holder,
        )
        return Written(user, recorded=outcome.created, own_count=outcome.own_count)


def next_target(request, user, assignment, *, token: str | None, page_id: int) -> tuple[int | None, str]:
    """The page after ``page_id`` and its URL, picked now as /review/next/ would: one round trip
    fewer per review (/review/next/ stays for links and the start button). The following page
    reserved while this one was on screen (its image is in the browser's cache) when it is still
    valid for this reviewer; else a fresh pick."""
    try:
        following = None
        if assignment is not None and settings.REVIEW_PREFETCH_NEXT:
            following = take_following_page(
                assignment=assignment, uid=user.pk, token=token, current_page_id=page_id
            )
        next_id, url = (
            (following, reverse("review", args=[following]))
            if following
            else next_review_target(request, user)
        )
    except DatabaseError:
        # The review is committed: say so with a redirect even if picking the next page failed
        # (Postgres restarting); /review/next/ answers for itself, with a 503 if it must.
        next_id, url = None, None
    return next_id, url or next_page_url()


def review_error(request, page_id: int, exc: ReviewError):
    missing = exc.code == "no_such_page"
    if exc.code == "not_open" and not _may_see(request.user, page_id):
        # An embargoed page is never open (a published, open assignment makes its pages
        # public), so the refusal is here, off the hot path: it does not exist for the public.
        missing = True
        exc = ReviewError("That page does not exist.", code="no_such_page")
    if exc.code == "withdrawn":
        return withdrawn(request, f"{exc.message} Nothing was recorded.")
    if exc.code == "not_open":
        return error_page(
            request,
            status=403,
            title="That page is not open for review",
            message=f"{exc.message} Nothing was recorded.",
            retry_url=None,
        )
    return error_page(
        request,
        status=404 if missing else 400,
        title="That page does not exist" if missing else "That review could not be recorded",
        message=f"{exc.message} Nothing was recorded.",
        retry_url=None if missing else reverse("review", args=[page_id]),
    )


def _may_see(user, page_id: int) -> bool:
    page = selectors.page_for_review(page_id)
    return page is not None and visibility.can_see_page(user, page)
