"""What an account may be called: the username rules reviewers meet when they claim an account,
and the error every account write raises. Used by the claim form and the account actions."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

ANON_PREFIX = "anon-"
USERNAME_MAX_LENGTH = 30
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# A deliberately small list: it catches the obvious, editors handle the rest in the admin.
# Matched as substrings after undoing common l33t spellings, so "sh1thead" is caught too.
OFFENSIVE_WORDS = (
    "fuck",
    "shit",
    "cunt",
    "bitch",
    "bastard",
    "twat",
    "nazi",
    "hitler",
    "nigger",
    "nigga",
    "faggot",
    "retard",
    "whore",
    "slut",
    "pedo",
    "paedo",
)
# Names that would look official to other readers.
RESERVED_USERNAMES = {"admin", "administrator", "staff", "editor", "editors", "moderator", "root", "guardian"}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"})


class AccountError(ValueError):
    """Bad input for an account action: the message is safe to show."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def check_username(username: str, *, current_user_id: int | None = None) -> str:
    """The cleaned username, or AccountError saying clearly why it cannot be used."""
    username = (username or "").strip()
    if not username:
        raise AccountError("Choose a username.", code="required")
    if len(username) > USERNAME_MAX_LENGTH:
        raise AccountError(
            f"Usernames can be at most {USERNAME_MAX_LENGTH} characters long.", code="too_long"
        )
    if not _USERNAME_RE.match(username):
        raise AccountError(
            "Usernames may contain only letters, digits, dots, hyphens and underscores, "
            "and must start with a letter or digit.",
            code="invalid",
        )
    lowered = username.lower()
    if lowered.startswith(ANON_PREFIX):
        raise AccountError(
            f"Usernames starting with “{ANON_PREFIX}” are kept for anonymous reviewers.", code="anon_prefix"
        )
    if lowered in RESERVED_USERNAMES:
        raise AccountError("That username is reserved. Please choose another.", code="reserved")
    squashed = re.sub(r"[^a-z]", "", lowered.translate(_LEET))
    if any(word in squashed for word in OFFENSIVE_WORDS):
        raise AccountError("That username looks offensive. Please choose another.", code="offensive")
    taken = get_user_model().objects.filter(username__iexact=username)
    if current_user_id is not None:
        taken = taken.exclude(pk=current_user_id)
    if taken.exists():
        raise AccountError("That username is already taken. Please choose another.", code="taken")
    return username
