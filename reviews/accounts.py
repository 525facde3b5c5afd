"""Light-weight registration: anonymous ``anon-<n>`` accounts and claiming them.

No sign-up before the first review. The first review POST (never a mere visit: crawlers must
not create accounts) creates a real user ``anon-<n>`` with ``Reviewer(anonymous=True)`` and logs
the browser in; the session lasts ``SESSION_COOKIE_AGE`` (a year). Claiming renames the same
user and gives it a password, so every review and all credit stay where they are.

A browser may send its first write twice before the first response arrives (a double click
without JS, a replayed request): ``first_write_account`` gives both the same account.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import redis
from django.conf import settings
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from lib import keys
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from reviews.models import Reviewer

log = logging.getLogger("crowd.reviews")

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


def is_anonymous_reviewer(user) -> bool:
    """True for an unclaimed ``anon-<n>`` account (one query, unless the reviewer is cached)."""
    if not user.is_authenticated:
        return False
    reviewer = Reviewer.objects.filter(user_id=user.pk).only("anonymous").first()
    return bool(reviewer and reviewer.anonymous)


def create_anonymous_reviewer() -> AbstractBaseUser:
    """A fresh ``anon-<n>`` user with an unusable password and its anonymous Reviewer row."""
    User = get_user_model()
    with transaction.atomic():
        # The number is the user's primary key: unique without a counter of our own.
        user = User(username=f"{ANON_PREFIX}new-{uuid.uuid4().hex}")
        user.set_unusable_password()
        user.save()
        user.username = f"{ANON_PREFIX}{user.pk}"
        User.objects.filter(pk=user.pk).update(username=user.username)
        Reviewer.objects.create(user=user, anonymous=True)
    return user


# A first write's mark: while pending it must outlast any honest request (a crashed one blocks
# its browser's replays this long at most); once done, replays up to this late find the account.
FIRST_WRITE_PENDING_TTL = 30
FIRST_WRITE_KEY_TTL = 10 * 60
# How long a replay waits for the first write to commit before saying "try again".
FIRST_WRITE_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.05
# Delete the pending mark only if it is still ours (it may have expired and been taken over).
_RELEASE_IF_OURS = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


@contextmanager
def first_write_account(request) -> Iterator[AbstractBaseUser]:
    """The account for a write by a browser without a session; the caller then logs it in.

    Creates ``anon-<n>`` inside a transaction that stays open while the body runs, so a refused
    write (an exception in the body) leaves no account. Two first writes of one browser carry the
    same CSRF cookie (the session cookie only comes with the first response), so the first marks
    the cookie's key in Redis (``SET NX``) and stores the user id once committed; the other waits
    briefly for that id and gets the same account: one browser, one account, one review per page.
    Raises AccountError(code="first_write_pending") when the first write is still running after
    ``FIRST_WRITE_WAIT_SECONDS``: nothing is recorded and the browser can simply retry.
    """
    csrf_cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    key = keys.anonymous_first_write(csrf_cookie) if csrf_cookie else None
    token = f"pending:{uuid.uuid4().hex}"
    marked = False
    if key is not None:
        try:
            existing, marked = _mark_or_wait_for_account(key, token)
        except redis.RedisError as exc:
            # Fail open, as before the mark existed: a Redis outage must not stop honest first
            # reviews; it only reopens the (rare) double submit of a first write meanwhile.
            warn_throttled(log, "first-write-mark", "first-write mark skipped, Redis unavailable: %r", exc)
            existing = None
        if existing is not None:
            yield existing
            return
    try:
        with transaction.atomic():
            user = create_anonymous_reviewer()
            if marked:
                # Only a committed account is ever named: a rolled-back one never reaches Redis.
                transaction.on_commit(partial(_remember_account, key, user.pk))
            yield user
    except BaseException:
        if marked:
            _release_mark(key, token)
        raise


def _mark_or_wait_for_account(key: str, token: str) -> tuple[AbstractBaseUser | None, bool]:
    """(account to reuse or None, whether this request holds the pending mark)."""
    client = get_redis()
    deadline = time.monotonic() + FIRST_WRITE_WAIT_SECONDS
    while True:
        if client.set(key, token, nx=True, ex=FIRST_WRITE_PENDING_TTL):
            return None, True
        value = client.get(key)
        if value is not None and value.isdigit():
            # A claimed (now password-protected) or deleted account is never handed to a replay:
            # this browser then gets a fresh account, as without the mark.
            user = (
                get_user_model()
                .objects.filter(pk=int(value), is_active=True, reviewer__anonymous=True)
                .first()
            )
            return user, False
        if time.monotonic() >= deadline:
            raise AccountError(
                "Your previous submit is still being recorded. Please try again in a moment.",
                code="first_write_pending",
            )
        if value is not None:  # pending; when gone (the first write was refused), mark at once
            time.sleep(_POLL_SECONDS)


def _remember_account(key: str, user_id: int) -> None:
    try:
        get_redis().set(key, str(user_id), ex=FIRST_WRITE_KEY_TTL)
    except redis.RedisError as exc:
        # The pending mark expires on its own; replays meanwhile get "try again", never a duplicate.
        warn_throttled(
            log, "first-write-remember", "first-write account not remembered, Redis unavailable: %r", exc
        )


def _release_mark(key: str, token: str) -> None:
    try:
        get_redis().eval(_RELEASE_IF_OURS, 1, key, token)
    except redis.RedisError as exc:
        warn_throttled(
            log, "first-write-release", "first-write mark not released, Redis unavailable: %r", exc
        )


def log_in_anonymous_reviewer(request, user: AbstractBaseUser) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # Long-lived: the session is the only key to an unclaimed account's reviews.
    request.session.set_expiry(None)  # SESSION_COOKIE_AGE (a year), not "until browser close"


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


def claim_account(
    *, user: AbstractBaseUser, username: str, password: str, email: str = ""
) -> AbstractBaseUser:
    """Turn an anonymous account into a named one; its reviews and credit stay with it.

    The caller validates the password (Django's validators, see ``ClaimForm``).
    """
    username = check_username(username, current_user_id=user.pk)
    with transaction.atomic():
        reviewer = Reviewer.objects.select_for_update().filter(user_id=user.pk).first()
        if reviewer is None or not reviewer.anonymous:
            raise AccountError("This account has already been claimed.", code="already_claimed")
        # A fresh copy: on failure the caller's user object (request.user) keeps its old name.
        account = get_user_model().objects.get(pk=user.pk)
        account.username = username
        account.email = email or ""
        account.set_password(password)
        try:
            with transaction.atomic():
                account.save(update_fields=["username", "email", "password"])
        except IntegrityError:
            # Someone took the name between the check and the save.
            raise AccountError(
                "That username is already taken. Please choose another.", code="taken"
            ) from None
        reviewer.anonymous = False
        reviewer.claimed_at = timezone.now()
        reviewer.save(update_fields=["anonymous", "claimed_at"])
    return account


def keep_logged_in_after_claim(request, user: AbstractBaseUser) -> None:
    # Changing the password changes the session hash; without this the reviewer is logged out.
    update_session_auth_hash(request, user)
