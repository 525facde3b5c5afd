"""The account pages around the review screen: saving an anonymous account (claim), log-in,
log-out and the password reset (Django's own views; email through EMAIL_BACKEND, see settings).

Views parse and validate; the writes go through ``reviews.actions`` (``claim_account``) and the
request side of accounts through ``reviews.sessions``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache

from lib.web import allow_methods
from reviews import held_views, ratelimit, selectors, sessions
from reviews.account_rules import AccountError
from reviews.actions import claim_account
from reviews.forms import ClaimForm, LoginForm


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
