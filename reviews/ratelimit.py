"""Rate limits on anonymous writes (reviews and skips), per session and per address.

Fixed one-minute windows counted in Redis with INCR + EXPIRE: one round trip per write, no
state in Postgres. "Anonymous" means a visitor without an account or with an unclaimed
``anon-<n>`` account; reviewers who claimed their account are not limited here.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from lib import keys
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis

log = logging.getLogger("crowd.reviews")

# Counters outlive their window a little so a slow clock on one web node still finds them.
_WINDOW_SECONDS = 60
_KEY_TTL = 2 * _WINDOW_SECONDS


@dataclass(frozen=True)
class RateLimited:
    scope: str  # "session" or "address"
    limit: int
    retry_after: int  # seconds until the current window ends


def client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it,
    # and trusting it would let anyone pick a fresh address per request.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _session_ident(request) -> str | None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return None
    # The session key is a credential: keep only a digest of it in Redis.
    return hashlib.sha256(session_key.encode()).hexdigest()[:24]


def hit_anonymous_write(request, *, now: float | None = None) -> RateLimited | None:
    """Count one anonymous write; return the limit it broke, or None when it may proceed."""
    now = time.time() if now is None else now
    window = int(now // _WINDOW_SECONDS)
    retry_after = max(1, int(_WINDOW_SECONDS - now % _WINDOW_SECONDS))
    checks: list[tuple[str, str, int]] = [
        ("address", client_address(request), settings.RATE_LIMIT_ADDRESS_PER_MINUTE)
    ]
    session_ident = _session_ident(request)
    if session_ident:
        checks.append(("session", session_ident, settings.RATE_LIMIT_SESSION_PER_MINUTE))
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope, ident, _limit in checks:
            key = keys.rate_limit(scope, ident, window)
            pipe.incr(key)
            pipe.expire(key, _KEY_TTL)
        results = pipe.execute()
    except redis.RedisError as exc:
        # Fail open: the limit protects the data from floods, but a Redis outage must not stop
        # honest reviewers (Postgres still records every review, and the picker has fallbacks).
        # Throttled: every anonymous write of the outage fails the same way.
        warn_throttled(log, "rate-limit", "rate limit skipped, Redis unavailable: %r", exc)
        return None
    counts = results[0::2]
    # The session limit is the tighter, more specific one: report it first when both are hit.
    for (scope, _ident, limit), count in sorted(
        zip(checks, counts, strict=True), key=lambda item: item[0][0] != "session"
    ):
        if int(count) > limit:
            return RateLimited(scope=scope, limit=limit, retry_after=retry_after)
    return None


_HOUR = 3600


def hit_password_reset(request, *, email: str, now: float | None = None) -> RateLimited | None:
    """Count one password reset request, per address and per email address (a digest), in
    one-hour windows; return the limit it broke, or None. Resets send email: without a limit
    the form is a way to flood someone's inbox. Fails open when Redis is down, like the rest."""
    now = time.time() if now is None else now
    window = int(now // _HOUR)
    retry_after = max(1, int(_HOUR - now % _HOUR))
    email_ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]
    checks = [
        ("reset-address", client_address(request), settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS_PER_HOUR),
        ("reset-email", email_ident, settings.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL_PER_HOUR),
    ]
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope, ident, _limit in checks:
            key = keys.rate_limit(scope, ident, window)
            pipe.incr(key)
            pipe.expire(key, 2 * _HOUR)
        results = pipe.execute()
    except redis.RedisError as exc:
        warn_throttled(log, "rate-limit", "rate limit skipped, Redis unavailable: %r", exc)
        return None
    for (scope, _ident, limit), count in zip(checks, results[0::2], strict=True):
        if int(count) > limit:
            return RateLimited(scope=scope, limit=limit, retry_after=retry_after)
    return None
