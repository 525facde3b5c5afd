"""Reservations ending when a reviewer submits or skips (``catalogue.signals`` receivers call
these after commit), in the active assignments containing the page and no others: a page may be
in several, and a reservation copied into an overlapping assignment ends with the original. The
review's own transaction found those assignments (``assignments.actions``), so this costs the
same whatever the number of active assignments.

A review also takes one of the page's remaining reviews in every assignment that still has it
to do (its free places in the to-do mirror, see ``tiers.lua``); the page leaving the to-do set
at its threshold is ``assignments.denormalisations``' business (Postgres decides it).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from django.conf import settings

from assignments.picker.redis_source import RedisUnavailable, redis_client, redis_failed
from assignments.picker.scripts import CONFIRM, RELEASE, holder_for
from lib.redis_client import get_redis
from lib.redis_scripts import execute

# confirm_page's answers (confirm.lua's).
HELD, RESERVED, LIMIT, FULL, ABSENT = "held", "reserved", "limit", "full", "absent"


def end_reservations(
    *,
    page_id: int,
    user_id: int,
    reviewed: bool,
    assignment_ids: Iterable[int],
    holder: str | None = None,
) -> None:
    """After commit: ``user_id`` reviewed (or skipped) ``page_id``; their reservations of it end
    in ``assignment_ids`` (the active assignments containing the page), held under ``holder``
    (their visitor, see ``holder_for``) and under their user. One round trip, no query.
    Raises ``redis.RedisError`` (the caller logs and flags; reservations then expire)."""
    ids = sorted(set(assignment_ids))
    if not ids:
        return
    r = get_redis()
    pipe = r.pipeline(transaction=False)
    mode = "reviewed" if reviewed else "release"
    holders = [holder] if holder and holder != f"u{user_id}" else []
    for assignment_id in ids:
        RELEASE.add(pipe, assignment_id, page_id, f"u{user_id}", mode, "", *holders)
    execute(pipe, r)


def settle_pages(pipe: redis.client.Pipeline, assignment_id: int, remaining: dict[int, int]) -> None:
    """Queue on ``pipe`` (run with ``lib.redis_scripts.execute``): set these pages' remaining
    reviews (threshold - review_count, from Postgres) in the assignment's to-do mirror, their
    live reservations still counted."""
    for page_id, left in remaining.items():
        RELEASE.add(pipe, assignment_id, page_id, "", "settle", left)


def confirm_page(
    *, assignment_id: int, page_id: int, uid: int | None, token: str | None, address: str
) -> str:
    """The review screen of ``page_id`` is on this visitor's screen: their reservation of it
    becomes firm (a soft one, from ``/review/next/``, could be taken over until now), or a soft
    one is taken if the page has a free place (a link, not the picker, brought them). ``FULL`` when it has none (others hold every review it
    still needs: the screen sends the visitor to another page, so a page is never handed to more
    reviewers at once than it needs); ``ABSENT`` when it is not to do in the assignment, or
    Redis cannot say (the screen is shown as before). One round trip."""
    if settings.PICKER_RESERVATION_SECONDS <= 0:
        return ABSENT
    holder, remembered = holder_for(uid, token)
    if not remembered:
        return ABSENT
    try:
        r = redis_client()
        answer = CONFIRM.run(
            r,
            assignment_id,
            page_id,
            settings.PICKER_RESERVATION_SECONDS,
            holder,
            address,
            settings.PICKER_MAX_HOLDS_PER_ADDRESS,
            settings.PICKER_SOFT_GRACE_SECONDS,
        )
    except RedisUnavailable:
        return ABSENT
    except redis.RedisError as exc:
        redis_failed(exc)
        return ABSENT
    return str(answer)
