"""Request and session helpers of light-weight accounts: the account of a browser's first write,
logging it in for weeks (renewed while used), and staying logged in after claiming.

A browser may send its first write twice before the first response arrives (a double click
without JS, a replayed request): ``first_write_account`` gives both the same account. The two
are recognised by a server-issued, signed random token in the review form
(:func:`first_write_token`), never by a cookie: the CSRF cookie is not a secret worth an account
(anyone who learns it must not be logged into its owner's ``anon-<n>``), and a token is only
ever in the HTML of the page that was served to that browser. Its marks
in Redis are request bookkeeping with a short TTL, not data of record, so they live here with
the request rather than in an action; the account itself is created by
``reviews.actions.accounts.create_anonymous_reviewer``.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import redis
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction

from lib import keys
from lib.log_throttle import warn_throttled
from lib.ratelimit import address_range, client_address
from lib.redis_client import get_redis
from lib.redis_scripts import LuaScript
from reviews import auth, ratelimit
from reviews.account_rules import AccountError
from reviews.actions.accounts import create_anonymous_reviewer

log = logging.getLogger("crowd.reviews")

# A first write's mark: while pending it must outlast any honest request (a crashed one blocks
# its browser's replays this long at most); once done, replays up to this late find the account
# (a double submit arrives within seconds; a token seen later gives nothing).
FIRST_WRITE_PENDING_TTL = 30
FIRST_WRITE_KEY_TTL = 2 * 60
# The form field carrying the token, its signing salt, and how long a served form stays good.
FIRST_WRITE_FIELD = "first_write"
_TOKEN_SALT = "crowd.reviews.first-write"
FIRST_WRITE_TOKEN_MAX_AGE = 24 * 60 * 60
# How long a replay waits for the first write to commit before saying "try again".
FIRST_WRITE_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.05
# Delete the pending mark only if it is still ours (it may have expired and been taken over).
_RELEASE_IF_OURS = LuaScript(
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
    "release_if_ours",
)


def first_write_token() -> str:
    """A fresh signed random token for the review form of a visitor without a session."""
    return signing.dumps(secrets.token_urlsafe(18), salt=_TOKEN_SALT, compress=False)


def _first_write_nonce(request) -> str | None:
    """The random part of the form's token when it is one this site signed (recently)."""
    token = request.POST.get(FIRST_WRITE_FIELD, "")
    if not token or len(token) > 200:
        return None
    try:
        nonce = signing.loads(token, salt=_TOKEN_SALT, max_age=FIRST_WRITE_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return nonce if isinstance(nonce, str) else None


class TooManyAccounts(Exception):
    """This address created RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR accounts within the last hour."""

    def __init__(self, limited: ratelimit.RateLimited):
        super().__init__(f"too many new accounts from one address ({limited.limit} an hour)")
        self.limited = limited


@contextmanager
def first_write_account(request) -> Iterator[AbstractBaseUser]:
    """The account for a write by a browser without a session; the caller then logs it in.

    Creates ``anon-<n>`` inside a transaction that stays open while the body runs, so a refused
    write (an exception in the body) leaves no account. Two first writes of one browser carry the
    same CSRF cookie (the session cookie only comes with the first response), so the first marks
    the cookie's key in Redis (``SET NX``) and stores the user id once committed; the other waits
    briefly for that id and gets the same account: one browser, one account, one review per page.
    Raises TooManyAccounts when the visitor's address already created its hourly allowance of
    accounts (``reviews.ratelimit.hit_new_account``; a replay reusing an account is not counted).
    Raises AccountError(code="first_write_pending") when the first write is still running after
    ``FIRST_WRITE_WAIT_SECONDS``: nothing is recorded and the browser can simply retry.
    """
    nonce = _first_write_nonce(request)
    key = keys.anonymous_first_write(nonce) if nonce else None
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
        limited = ratelimit.hit_new_account(request)
        if limited is not None:
            raise TooManyAccounts(limited)
        with transaction.atomic():
            user = create_anonymous_reviewer(created_from=address_range(client_address(request)))
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
        _RELEASE_IF_OURS(get_redis(), [key], [token])
    except redis.RedisError as exc:
        warn_throttled(
            log, "first-write-release", "first-write mark not released, Redis unavailable: %r", exc
        )


def log_in_anonymous_reviewer(request, user: AbstractBaseUser) -> None:
    login(request, user, backend=auth.BACKEND)
    # Long-lived: the session is the only key to an unclaimed account's reviews.
    request.session.set_expiry(None)  # SESSION_COOKIE_AGE, renewed while used; not "browser close"


def keep_logged_in_after_claim(request, user: AbstractBaseUser) -> None:
    # Changing the password changes the session hash; without this the reviewer is logged out.
    update_session_auth_hash(request, user)
