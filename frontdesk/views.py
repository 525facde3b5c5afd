"""Public pages: home, the review screen, a page's tags and a reviewer's profile.

The review screen's submit is ``frontdesk.review_submit`` (its fast path ``frontdesk.fast_path``,
the parts both share ``frontdesk.review_screen``); the account pages are
``frontdesk.account_views``. Views parse and validate; writes go through ``reviews.actions``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from assignments import visibility
from assignments.picker.holds import FULL
from assignments.selectors import current_assignment, home_assignments
from contributors import selectors as credit
from frontdesk.review_screen import image_url, screen_holds_for, tag_controls, withdrawn
from frontdesk.review_submit import record
from lib import hooks
from lib.web import allow_methods, is_staff, max_body_bytes
from moderation import takedown_selectors as takedown
from reviews import selectors, sessions

HOME_DISCOVERIES = 5


@allow_methods("GET", "HEAD")
def home(request):
    # The lead is the main assignment while it has work left (see home_assignments).
    main, alternatives, finished_main = home_assignments()
    return render(
        request,
        "home.html",
        {
            "main": main,
            "alternatives": alternatives,
            "discoveries": credit.discoveries_for(limit=HOME_DISCOVERIES),
            "top_reviewers": credit.recent_table(viewer=request.user),
            "finished_main": finished_main,
        },
    )


# A review is a CSRF token, an action and a few tag slugs: a few hundred bytes. The site-wide
# DATA_UPLOAD_MAX_MEMORY_SIZE is sized for the admin; review posts get this much tighter bound,
# enforced by lib.middleware.RequestBodyLimitMiddleware before anything (CSRF) reads the body.
REVIEW_MAX_BODY_BYTES = 16 * 1024


@never_cache  # personal (own count, CSRF token): never stored by a shared cache
@allow_methods("GET", "HEAD", "POST")
@max_body_bytes(REVIEW_MAX_BODY_BYTES)
def review(request, page_id: int):
    """GET: the review screen. POST: record a review or a skip, then go to the next page."""
    if request.method == "POST":
        return record(request, page_id)
    page = selectors.page_for_review(page_id, viewer=request.user)
    if page is None:
        raise Http404("No such page")
    if page.withdrawn_at is not None:
        return withdrawn(request, "The editors withdrew this page: it can no longer be reviewed.")
    if not visibility.can_see_page(request.user, page):
        raise Http404("No such page")  # embargoed: staff only, as if it did not exist
    keys = selectors.review_screen_keys()
    own_count, already_reviewed = selectors.reviewer_status(
        user=request.user, page_id=page.pk, reviewed=page.reviewed_by_viewer
    )
    assignment = current_assignment(request)
    holds = screen_holds_for(request, assignment, page.pk, confirm=not already_reviewed)
    if holds.state == FULL:
        # Others hold every review this page still needs (this visitor's own soft hold was taken
        # over, or a link brought them): another page, never one reviewer more than it needs.
        return redirect("review-next")
    return render(
        request,
        "reviews/review.html",
        {
            "page": page,
            "keys": keys,
            "tag_controls": tag_controls(keys),
            "assignment": assignment,
            "own_count": own_count,
            "following_image": image_url(holds.following),
            "already_reviewed": already_reviewed,
            "fast_path": settings.REVIEW_FAST_PATH,
            # Lets a double submit of a first review find one account (reviews.sessions).
            "first_write_token": None if request.user.is_authenticated else sessions.first_write_token(),
        },
    )


@allow_methods("GET", "HEAD")
def page_detail(request, page_id: int):
    """A page with its tag counts; see ``selectors.page_tags_for_viewer`` for who sees them.
    A withdrawn page is a 410 for everyone but staff, who see it with a banner and the button
    that reinstates it."""
    page = selectors.page_for_review(page_id)
    if page is None:
        raise Http404("No such page")
    staff = is_staff(request.user)
    if not staff and not visibility.page_is_public(page):
        if visibility.page_visibility(page) == "withdrawn":
            return withdrawn(request, "The editors withdrew this page. It is no longer published here.")
        raise Http404("No such page")  # embargoed: staff only, as if it did not exist
    context = {
        "page": page,
        "staff": staff,
        "tags": selectors.page_tags_for_viewer(page=page, user=request.user),
        "discovery": credit.page_discovery(page.pk),
    }
    if staff:
        # The takedown panel: who withdrew the page (or its document), when and why.
        context["page_withdrawal"] = takedown.open_page_withdrawal(page.pk)
        if page.document.withdrawn_at is not None:
            context["document_withdrawal"] = takedown.open_document_withdrawal(page.document_id)
    if staff and page.withdrawn_at is None and context["discovery"] is None:
        # The staff-only discovery form: whom the credit would go to, and who else highlighted it.
        choices = credit.credit_choices(page.pk)
        context["credit_choices"] = choices
        context["first_highlighter"] = choices[0][1] if choices else ""
    # Text, neighbours and marks of the search app's reading view (a settings hook).
    hooks.extra_context("PAGE_VIEW_CONTEXT_HOOKS", request, page, context)
    return render(request, "reviews/page.html", context)


@allow_methods("GET", "HEAD")
def user_profile(request, username: str):
    """A reviewer's profile; see ``contributors.selectors.profile`` for what each viewer sees."""
    if len(username) > 150 or "\x00" in username:
        raise Http404("No such reviewer")
    found = credit.profile(username, viewer=request.user)
    if found is None:
        raise Http404("No such reviewer")
    context = {
        "profile": found,
        "profile_user": found.user,
        "reviewer": found.reviewer,
        "is_self": request.user.is_authenticated and request.user.pk == found.user.pk,
    }
    # Higher layers' parts of the profile (consensus: the reviewer's own gold agreement).
    hooks.extra_context("PROFILE_CONTEXT_HOOKS", request, found.user, context)
    return render(request, "reviews/user.html", context)
