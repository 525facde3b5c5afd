"""Nothing lost at a limit: a review refused by the new-account limit is held in the visitor's
browser and recorded the moment they can have an account.

Over ``RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR`` (a newsroom, a school or a mobile carrier behind one
address), the visitor's first submit cannot create their ``anon-<n>`` account. Before, the review
was simply gone behind a bare 429. Now :func:`hold` keeps it (page id, tags or skip, the current
assignment, and when the window allows another account) in a signed cookie, the visitor's
client-side session: the 429 still changes nothing on the server (no session row, no account),
as every refused request here must, and a flood of refused first writes costs no storage. The 429
page says so plainly and offers to log in, to save an account (a username and password,
``held_views``) or to wait until the time shown. :class:`HeldReviewMiddleware` records it:

- after any request that leaves the visitor signed in (the login, public or admin, and saving an
  account): recorded for that user;
- when the visitor comes back to ``/review/next/`` or a review screen once the window allows:
  their account is created then (the limit is asked again) and the review recorded with it.

The cookie is deleted by the response of the request that records it, and ``submit_review``
keeps one review per reviewer per page, so a double submit (two 429s holding the same review), two
tabs or a replayed cookie record it once. Only one review is held: the 429 page is not followed by
another page to review, so a second refused submit replaces the first. The signature (Django's
``signing``, salted) means the cookie cannot name a review the visitor did not send; it expires
after ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.core import signing

from reviews import sessions
from reviews.actions import ReviewError, skip_page, submit_review

log = logging.getLogger("crowd.reviews")

COOKIE_NAME = "crowd_held_review"
_SALT = "crowd.reviews.held-review"
MAX_AGE_SECONDS = 24 * 60 * 60
# The paths where a returning visitor's held review is retried for a new account (GETs only).
_RETRY_PREFIX = "/review/"
# Request attributes: the held review was taken by this request (delete the cookie), or is to be
# written back with a new time (still limited).
_TAKEN = "_crowd_held_taken"
_KEEP = "_crowd_held_keep"


def hold(
    response,
    *,
    page_id: int,
    action: str,
    tag_slugs: list[str],
    assignment_id: int | None,
    retry_after: int,
) -> None:
    """Keep a review the new-account limit refused, in a signed cookie set on ``response``
    (replacing any held before)."""
    _set_cookie(
        response,
        {
            "page_id": int(page_id),
            "action": "skip" if action == "skip" else "submit",
            "tags": [str(s)[:100] for s in tag_slugs[:50]],
            "assignment_id": assignment_id,
            "retry_at": time.time() + max(1, int(retry_after)),
        },
    )


def _set_cookie(response, value: dict) -> None:
    response.set_cookie(
        COOKIE_NAME,
        signing.dumps(value, salt=_SALT, compress=True),
        max_age=MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def held(request) -> dict | None:
    """The review held for this browser, unless this request has taken it already."""
    if getattr(request, _TAKEN, False):
        return None
    raw = request.COOKIES.get(COOKIE_NAME, "")
    if not raw or len(raw) > 4000:
        return None
    try:
        value = signing.loads(raw, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("page_id"), int) else None


def _record_value(user, value: dict) -> bool:
    """Record a held review for ``user``: True when recorded now, False when it was there
    already. Raises ReviewError when it can no longer be (the page was withdrawn or closed)."""
    page_id = value["page_id"]
    if value.get("action") == "skip":
        skip_page(reviewer=user, page_id=page_id, only_open_pages=True)
        return True
    assignment_id = value.get("assignment_id")
    outcome = submit_review(
        reviewer=user,
        page_id=page_id,
        tag_slugs=[s for s in value.get("tags") or [] if isinstance(s, str)],
        assignment_id=assignment_id if isinstance(assignment_id, int) else None,
        only_open_pages=True,
    )
    return outcome.created


def _take(request) -> dict | None:
    value = held(request)
    if value is not None:
        setattr(request, _TAKEN, True)
    return value


def record(request, user) -> bool | None:
    """Record the held review for ``user`` (and forget it). True: recorded now; False: it was
    there already; None: nothing held, or it can no longer be recorded (a message says why)."""
    value = _take(request)
    if value is None:
        return None
    try:
        created = _record_value(user, value)
    except ReviewError as exc:
        _refused(request, value, exc)
        return None
    _recorded(request, value, created)
    return created


def _recorded(request, value: dict, created: bool) -> None:
    if created:
        _tell(
            request, messages.SUCCESS, f"Your review of page {value['page_id']} is recorded now. Thank you!"
        )


def _refused(request, value: dict, exc: ReviewError) -> None:
    _tell(
        request,
        messages.WARNING,
        f"Your held review of page {value['page_id']} could not be recorded: {exc.message}",
    )


def _tell(request, level: int, text: str) -> None:
    if hasattr(request, "_messages"):
        messages.add_message(request, level, text)


def retry_with_new_account(request) -> bool:
    """The visitor came back after the window: create their account now (the limit is asked
    again) and record the held review with it, in one transaction (a review that can no longer
    be recorded leaves no account). False when still limited (the held review stays, with the
    new time) or refused."""
    value = _take(request)
    if value is None:
        return False
    try:
        with sessions.first_write_account(request) as user:
            created = _record_value(user, value)
    except sessions.TooManyAccounts as exc:
        value["retry_at"] = time.time() + exc.limited.retry_after
        setattr(request, _KEEP, value)  # still held, with the new time
        return False
    except ReviewError as exc:
        _refused(request, value, exc)
        return False
    sessions.log_in_anonymous_reviewer(request, user)
    _recorded(request, value, created)
    return True


class HeldReviewMiddleware:
    """Records a held review when its visitor can have an account (see the module docstring).
    Costs one cookie lookup for requests without one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        value = held(request)
        if (
            value is not None
            and request.method == "GET"
            and request.path.startswith(_RETRY_PREFIX)
            and not request.user.is_authenticated
            and time.time() >= float(value.get("retry_at") or 0)
        ):
            retry_with_new_account(request)
        response = self.get_response(request)
        if (
            held(request) is not None
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            record(request, request.user)
        if getattr(request, _TAKEN, False) and COOKIE_NAME not in response.cookies:
            keep = getattr(request, _KEEP, None)
            if keep is not None:
                _set_cookie(response, keep)
            else:
                response.delete_cookie(COOKIE_NAME, samesite="Lax")
        return response
