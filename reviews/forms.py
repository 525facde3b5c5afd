"""Forms: parsing and validation of what reviewers post. Business rules stay in the actions."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm

from lib.login_throttle import ThrottledLoginMixin
from reviews.account_rules import USERNAME_MAX_LENGTH, AccountError, check_username


class ReviewForm(forms.Form):
    """The review screen's POST: ``action`` (submit or skip) and zero or more ``tags`` slugs.

    Tags are only parsed here; ``reviews.actions.submit_review`` decides which are acceptable, so
    the API and this form share one rule.
    """

    action = forms.ChoiceField(choices=[("submit", "Submit"), ("skip", "Skip")])

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tag_slugs: list[str] = [s for s in data.getlist("tags") if s] if data is not None else []

    def clean(self):
        # Postgres text cannot hold NUL: refused here (400), never a DataError (500).
        if any("\x00" in slug for slug in self.tag_slugs):
            raise forms.ValidationError("A tag cannot contain a NUL byte.")
        return super().clean()


class ClaimForm(forms.Form):
    username = forms.CharField(
        max_length=USERNAME_MAX_LENGTH,
        help_text="Letters, digits, dots, hyphens and underscores. Shown on your profile and in top "
        "reviewer tables.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        required=False,
        help_text="Only used to send you a link if you forget your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_username(self) -> str:
        try:
            return check_username(
                self.cleaned_data["username"], current_user_id=self.user.pk if self.user else None
            )
        except AccountError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords do not match.")
        elif p1:
            try:
                password_validation.validate_password(p1, self._claimed_user(cleaned))
                # The old anon-<n> name is printed on every page the reviewer visited: not a secret.
                if self.user is not None:
                    password_validation.validate_password(p1, self.user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def _claimed_user(self, cleaned: dict):
        """The account as it will be (the claimed username and email), for the validators that
        compare a password with the user's attributes: the account's current name is anon-<n>,
        so without this "jo-reporter" could be jo-reporter's password. Never saved."""
        User = get_user_model()
        return User(
            username=cleaned.get("username") or (self.user.username if self.user else ""),
            email=cleaned.get("email") or "",
        )


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """Usernames are matched ignoring case, as claiming checks them (no two accounts differ only
    in case); passwords are case-sensitive."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match an account. "
        "The password is case-sensitive; the username is not.",
    }

    def clean_username(self) -> str:
        username = (self.cleaned_data.get("username") or "").strip()
        stored = list(
            get_user_model().objects.filter(username__iexact=username).values_list("username", flat=True)[:2]
        )
        # Exactly one account whatever the case: use its spelling. Two (made before claims
        # checked case, e.g. by createsuperuser): only the exact spelling logs in.
        return stored[0] if len(stored) == 1 else username
