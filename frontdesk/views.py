"""Public pages: home, the review screen, a page's tags, profiles and light-weight accounts.

Views parse and validate; writes go through ``reviews.actions``, and the request side of
light-weight accounts (first-write account, log-in) through ``reviews.sessions``.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from assignments import visibility
from assignments.picker.following import ScreenHolds, pick_following_page, screen_holds, take_following_page
from assignments.picker.holds import FULL
from assignments.picker.scripts import holder_for
from assignments.selectors import current_assignment, home_assignments
from contributors import selectors as credit
from frontdesk.views_next import next_review_target, picker_identity
from lib import hooks
from lib.web import allow_methods, error_page, is_staff, max_body_bytes
from moderation import takedown_selectors as takedown
from reviews import auth, held_views, ratelimit, selectors, sessions
from reviews.account_rules import AccountError
from reviews.actions import ReviewError, claim_account, skip_page, submit_review
from reviews.forms import ClaimForm, LoginForm, ReviewForm


def next_page_url() -> str:
    return reverse("review-next")


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
        return _record(request, page_id)
    page = selectors.page_for_review(page_id, viewer=request.user)
    if page is None:
        raise Http404("No such page")
    if page.withdrawn_at is not None:
        return _withdrawn(request, "The editors withdrew this page: it can no longer be reviewed.")
    if not visibility.can_see_page(request.user, page):
        raise Http404("No such page")  # embargoed: staff only, as if it did not exist
    keys = selectors.review_screen_keys()
    own_count, already_reviewed = selectors.reviewer_status(
        user=request.user, page_id=page.pk, reviewed=page.reviewed_by_viewer
    )
    assignment = current_assignment(request)
    holds = _screen_holds(request, assignment, page.pk, confirm=not already_reviewed)
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
            "following_image": _image_url(holds.following),
            "already_reviewed": already_reviewed,
            "fast_path": settings.REVIEW_FAST_PATH,
            # Lets a double submit of a first review find one account (reviews.sessions).
            "first_write_token": None if request.user.is_authenticated else sessions.first_write_token(),
        },
    )


def _screen_holds(request, assignment, page_id: int, *, confirm: bool) -> ScreenHolds:
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


def _image_url(page_id: int | None) -> str | None:
    """The image URL of a page (None: no page, or withdrawn since it was checked)."""
    if page_id is None:
        return None
    name = selectors.page_image_name(page_id)
    return default_storage.url(name) if name else None


def _following_page(request, assignment, page_id: int) -> int | None:
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


def _record(request, page_id: int):
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return error_page(
            request,
            status=400,
            title="Choose submit or skip",
            message="The form did not say whether to submit or skip this page. Nothing was recorded.",
            retry_url=reverse("review", args=[page_id]),
        )
    user = request.user
    anonymous = not user.is_authenticated or selectors.is_anonymous_reviewer(user)
    if anonymous:
        limited = ratelimit.hit_anonymous_write(request)
        if limited is not None:
            retry_url = reverse("review", args=[page_id])
            response = render(request, "429.html", {"limited": limited, "retry_url": retry_url}, status=429)
            response["Retry-After"] = str(limited.retry_after)
            return response
    assignment = current_assignment(request)
    logged_out = not user.is_authenticated
    # The visitor the page (and their following page) is reserved for: the same name before and
    # after this submit, even when it is their first and makes their account (lib.visitor).
    token, _ = picker_identity(request)
    holder = holder_for(None, token)[0]
    try:
        # The first write, never a visit, creates the account (crawlers only GET), in one
        # transaction with the review: a refused review (bad tag, forged page) leaves no stray
        # account. A double submit of that first write gets the same account (see reviews.sessions).
        # Known reviewers need no transaction beyond the action's own.
        with sessions.first_write_account(request) if logged_out else nullcontext(user) as user:
            if form.cleaned_data["action"] == "skip":
                skip_page(reviewer=user, page_id=page_id, only_open_pages=True, holder=holder)
                recorded, own_count = False, None
            else:
                outcome = submit_review(
                    reviewer=user,
                    page_id=page_id,
                    tag_slugs=form.tag_slugs,
                    assignment_id=assignment.pk if assignment else None,
                    only_open_pages=True,
                    holder=holder,
                )
                recorded, own_count = outcome.created, outcome.own_count
    except ReviewError as exc:
        return _review_error(request, page_id, exc)
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
    auth.forget_loaded_reviewer(user)  # the review changed their row: read it afresh from here on
    if logged_out:
        sessions.log_in_anonymous_reviewer(request, user)
    # Straight to the next page's review screen (picked now, as /review/next/ would): one round
    # trip fewer per review. /review/next/ stays for links and the start button.
    # The following page reserved while this one was on screen (its image is in the browser's
    # cache) when it is still valid for this reviewer; else a fresh pick.
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
    url = url or next_page_url()
    if wants_next_screen(request):
        return _next_screen(request, assignment, next_id, url, recorded=recorded, own_count=own_count)
    return redirect(url)


# The review screen's fast path (static/js/review.js): with scripts, the browser sends the review
# form with fetch() and ``Accept: application/json``, and the submit answers with the next
# screen's data instead of a redirect to it; the script swaps the page in place (its image was
# prefetched while the reviewer looked at this one). A review cycle is then one request, not
# two: no second pass through the middleware, no screen template, no second session and user
# read. Without scripts (or with REVIEW_FAST_PATH off) the form posts and follows the redirect.
def wants_next_screen(request) -> bool:
    return settings.REVIEW_FAST_PATH and "application/json" in request.headers.get("Accept", "")


def _next_screen(
    request, assignment, next_id: int | None, url: str, *, recorded: bool, own_count: int | None
) -> JsonResponse:
    """The JSON answer of the fast path: what the script needs to show ``next_id``'s review
    screen, or ``"page": null`` and the URL to go to (the done page, /review/next/ when every
    page is held by others, or a page that cannot be shown here). Public facts of a page the
    picker just handed this reviewer (so not one they reviewed: the picker's check), plus their
    own count (``own_count``: the submit's; None after a skip, then read), the assignment's
    progress with this review, and a fresh CSRF token (a first submit logs the new reviewer in,
    which rotates it)."""
    answer = {"url": url, "page": None, "csrf": get_token(request), "recorded": recorded}
    if next_id is None:
        return JsonResponse(answer)
    following = _following_page(request, assignment, next_id)
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


def _review_error(request, page_id: int, exc: ReviewError):
    missing = exc.code == "no_such_page"
    if exc.code == "not_open" and not _may_see(request.user, page_id):
        # An embargoed page is never open (a published, open assignment makes its pages
        # public), so the refusal is here, off the hot path: it does not exist for the public.
        missing = True
        exc = ReviewError("That page does not exist.", code="no_such_page")
    if exc.code == "withdrawn":
        return _withdrawn(request, f"{exc.message} Nothing was recorded.")
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


def _withdrawn(request, message: str):
    """410 Gone: the page was taken down (moderation). Not cached by anyone, so reinstating it
    shows at once; the page cache never stores a non-200 either."""
    response = error_page(request, status=410, title="This page has been withdrawn", message=message)
    response["Cache-Control"] = "no-store"
    return response


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
            return _withdrawn(request, "The editors withdrew this page. It is no longer published here.")
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


@never_cache
@allow_methods("GET", "HEAD", "POST")
def claim(request):
    """Give an anonymous account a username and password, keeping its reviews and credit."""
    if not request.user.is_authenticated:
        if held_views.has_held_review(request):  # over the new-account limit: a named one now
            return held_views.claim_new_account(request)
        return render(request, "account/claim_nothing.html", status=200)
    if not selectors.is_anonymous_reviewer(request.user):
        messages.info(
            request, f"Your account is already yours: you are signed in as {request.user.username}."
        )
        return redirect("user", username=request.user.username)
    form = ClaimForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account = claim_account(
                user=request.user,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
            )
        except AccountError as exc:
            form.add_error("username" if exc.code != "already_claimed" else None, exc.message)
        else:
            sessions.keep_logged_in_after_claim(request, account)
            messages.success(
                request, f"Welcome, {account.username}! Your reviews are now saved to your account."
            )
            return redirect("user", username=account.username)
    status = 400 if request.method == "POST" else 200
    return render(request, "account/claim.html", {"form": form}, status=status)


class LoginView(auth_views.LoginView):
    template_name = "account/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = False

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {form.get_user().username}. You are logged in.")
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LogoutView(auth_views.LogoutView):
    """POST logs out (Django's rule: a link or a prefetch must not log anyone out). GET shows
    the confirmation page: for an unclaimed ``anon-<n>`` account, a warning that logging out
    loses it, with the offer to save it first (the header's "Log out" links there)."""

    template_name = "account/logged_out.html"
    http_method_names = ["get", "head", "post", "options"]

    def get(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect("home")
        anonymous = selectors.is_anonymous_reviewer(user)
        reviewed = selectors.reviewer_status(user=user, page_id=0)[0] if anonymous else 0
        return render(request, "account/logout_confirm.html", {"anonymous": anonymous, "reviewed": reviewed})

    def post(self, request, *args, **kwargs):
        user = request.user
        was = user.username if user.is_authenticated else None
        anonymous = was is not None and selectors.is_anonymous_reviewer(user)
        response = super().post(request, *args, **kwargs)
        if was is None:
            messages.info(request, "You were not logged in.")
        elif anonymous:
            messages.warning(
                request,
                f"You are logged out. The reviews of {was} still count, but nobody can log into "
                "that account again. Your next review starts a new one.",
            )
        else:
            messages.success(request, f"You are logged out. Log in again as {was} any time.")
        return response


# --- Password reset (Django's own views; email through EMAIL_BACKEND, see settings) -----------


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an email address and sends a reset link to the accounts that gave it when they
    were saved. Says the same whether or not an account has that address (no account probing),
    and is rate limited per address and per email (``RATE_LIMIT_PASSWORD_RESET_*``)."""

    template_name = "account/password_reset_form.html"
    email_template_name = "account/password_reset_email.txt"
    subject_template_name = "account/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        limited = ratelimit.hit_password_reset(self.request, email=form.cleaned_data["email"])
        if limited is not None:
            response = render(
                self.request,
                "429.html",
                {"limited": limited, "retry_url": reverse("password_reset")},
                status=429,
            )
            response["Retry-After"] = str(limited.retry_after)
            return response
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "account/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "account/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "account/password_reset_complete.html"
