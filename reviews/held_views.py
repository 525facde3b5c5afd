"""The visitor's side of a review held at the new-account limit (``reviews.held_reviews``): the
page that says what happened, and saving an account with a username and password straight away.
Views parse and validate; the account is created by ``create_named_reviewer``."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from lib.ratelimit import address_range, client_address
from reviews import auth, held_reviews, ratelimit
from reviews.account_rules import AccountError
from reviews.actions import create_named_reviewer
from reviews.forms import ClaimForm


def limited(request, *, page_id: int, action: str, tag_slugs: list[str], assignment_id, limited):
    """429 in the site's layout: the review is kept, and how to get it recorded."""
    review_url = reverse("review", args=[page_id])
    context = {
        "limited": limited,
        "page_id": page_id,
        "skip": action == "skip",
        "retry_at": timezone.now() + timedelta(seconds=limited.retry_after),
        "minutes": max(1, round(limited.retry_after / 60)),
        "login_url": f"{reverse('login')}?next={review_url}",
        "claim_url": reverse("account-claim"),
        "review_url": review_url,
    }
    response = render(request, "reviews/held_review.html", context, status=429)
    held_reviews.hold(
        response,
        page_id=page_id,
        action=action,
        tag_slugs=tag_slugs,
        assignment_id=assignment_id,
        retry_after=limited.retry_after,
    )
    response["Retry-After"] = str(limited.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def has_held_review(request) -> bool:
    return held_reviews.held(request) is not None


def claim_new_account(request):
    """``/account/claim/`` for a visitor without an account whose review is held: choose a
    username and password, the account is created (its own, higher limit) and signed in, and
    the held review is recorded with it (``held_reviews.HeldReviewMiddleware``)."""
    form = ClaimForm(request.POST or None, user=None)
    if request.method == "POST" and form.is_valid():
        refused = ratelimit.hit_named_account(request)
        if refused is not None:
            form.add_error(
                None,
                f"Too many accounts were created from your network in the last hour. Please try again in "
                f"{max(1, round(refused.retry_after / 60))} minutes; your review is kept until then.",
            )
        else:
            try:
                account = create_named_reviewer(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    email=form.cleaned_data["email"],
                    created_from=address_range(client_address(request)),
                )
            except AccountError as exc:
                form.add_error("username", exc.message)
            else:
                login(request, account, backend=auth.BACKEND)
                messages.success(request, f"Welcome, {account.username}! Your account is saved.")
                return redirect("user", username=account.username)
    status = 400 if request.method == "POST" else 200
    return render(request, "account/claim_new.html", {"form": form}, status=status)
