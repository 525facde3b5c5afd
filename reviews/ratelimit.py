"""Rate limits on anonymous writes (reviews and skips) and on new anonymous accounts.

Sliding windows counted in Redis across all web processes (``lib.ratelimit``), with a
per-process fallback while Redis is down. "Anonymous" means a visitor without an account or
with an unclaimed ``anon-<n>`` account; reviewers who claimed their account are not limited.

- writes per session and per address, per minute (RATE_LIMIT_SESSION_PER_MINUTE,
  RATE_LIMIT_ADDRESS_PER_MINUTE);
- new accounts per address, per hour, much lower (RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR): dropping
  the session cookie on every post must not mint accounts by the thousand.

The address is the visitor's as seen through trusted proxies (``lib.ratelimit.client_address``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.conf import settings

from lib import ratelimit as limiter
from lib.ratelimit import Exceeded as RateLimited
from lib.ratelimit import Limit, client_address

__all__ = [
    "RateLimited",
    "client_address",
    "hit_anonymous_write",
    "hit_named_account",
    "hit_new_account",
    "hit_password_reset",
    "register_new_account_exemption",
]

_MINUTE = 60
_HOUR = 60 * 60


def _session_ident(request) -> str | None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return None
    # The session key is a credential: keep only a digest of it in Redis.
    return hashlib.sha256(session_key.encode()).hexdigest()[:24]


def hit_anonymous_write(request, *, now: float | None = None) -> RateLimited | None:
    """Count one anonymous write; return the limit it broke, or None when it may proceed."""
    now = time.time() if now is None else now
    limits = []
    session_ident = _session_ident(request)
    if session_ident:
        # The session limit is the tighter, more specific one: checked (and reported) first.
        limits.append(Limit("session", session_ident, settings.RATE_LIMIT_SESSION_PER_MINUTE, _MINUTE))
    limits.append(Limit("address", client_address(request), settings.RATE_LIMIT_ADDRESS_PER_MINUTE, _MINUTE))
    return limiter.hit(limits, now=now)


# Checks that exempt an address from the new-account limit, registered by higher layers (the
# moderation app's address exemptions, see moderation.apps): this module never imports them.
_new_account_exemptions: list[Callable[[str], bool]] = []


def register_new_account_exemption(check: Callable[[str], bool]) -> None:
    if check not in _new_account_exemptions:
        _new_account_exemptions.append(check)


def hit_new_account(request, *, now: float | None = None) -> RateLimited | None:
    """Count one new anonymous account for the visitor's address (per hour); an address inside
    a live exemption (an editor's, for a newsroom or a classroom) is neither limited nor counted."""
    now = time.time() if now is None else now
    address = client_address(request)
    if any(check(address) for check in _new_account_exemptions):
        return None
    limit = Limit("new-account", address, settings.RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR, _HOUR)
    return limiter.hit([limit], now=now)


def hit_named_account(request, *, now: float | None = None) -> RateLimited | None:
    """Count one account created with a username and password by a visitor whose first review
    met the new-account limit (``reviews.held_views``), per address per hour
    (RATE_LIMIT_NAMED_ACCOUNTS_PER_HOUR): a human step (a name, a password the validators
    accept), so a far higher allowance, but still bounded."""
    now = time.time() if now is None else now
    limit = Limit(
        "named-account", client_address(request), settings.RATE_LIMIT_NAMED_ACCOUNTS_PER_HOUR, _HOUR
    )
    return limiter.hit([limit], now=now)


def hit_password_reset(request, *, email: str, now: float | None = None) -> RateLimited | None:
    """Count one password reset request, per address and per email address (a digest), in
    sliding one-hour windows; return the limit it broke, or None. Resets send email: without a
    limit the form is a way to flood someone's inbox."""
    now = time.time() if now is None else now
    email_ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]
    limits = [
        Limit(
            "reset-address",
            client_address(request),
            settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS_PER_HOUR,
            _HOUR,
        ),
        Limit("reset-email", email_ident, settings.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL_PER_HOUR, _HOUR),
    ]
    return limiter.hit(limits, now=now)
