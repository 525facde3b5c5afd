"""Helpers of the contributors tests."""

from __future__ import annotations

from django.db import transaction
from django.test import TestCase

from contributors import leaderboards, recent
from denorm import changes, operations, registry
from lib.redis_client import get_redis
from reviews.actions import submit_review

NAMES = [*leaderboards.FAMILY_NAMES.values(), recent.FAMILY_NAME]


def review(user, page, *tags, assignment=None):
    """Submit a review and run its on-commit receivers, as a committed request would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        outcome = submit_review(
            reviewer=user,
            page_id=page.pk,
            tag_slugs=tags,
            assignment_id=assignment.pk if assignment else None,
            only_open_pages=False,  # pages of these tests need not be in an assignment
        )
    return outcome.review


def committed(fn, *args, **kwargs):
    """Run ``fn`` and then its on-commit callbacks (deletes, changed()). The test's own
    transaction never commits: changes declared earlier in it (making an assignment) are still
    pending, and this change merges into them, so the pending changes are applied too."""
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        result = fn(*args, **kwargs)
    changes.flush()
    return result


def board(kind: str, owner_id: int | None = None) -> dict[int, int]:
    """A board's Redis contents, user id -> count."""
    return {
        int(u): int(s)
        for u, s in get_redis().zrange(leaderboards.Board(kind, owner_id).key, 0, -1, withscores=True)
    }


def build(names=NAMES) -> None:
    operations.rebuild_entries(registry.select(list(names)))


def drift(names=NAMES) -> dict[str, str]:
    return {e.name: str(d) for e, d in operations.check_entries(registry.select(list(names))) if not d.ok}
