"""Writes about reviews. Views, the API, commands and tasks all call these; none writes directly.

Each action is atomic. Postgres counters (Page.review_count, PageTag, Reviewer.review_count,
Assignment.completed_count) change in the same transaction as the review, so they can never
disagree with it; Redis and memcached hear about it only after commit (``reviews.signals``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction

from assignments.actions import advance_assignment_progress
from reviews import signals
from reviews.denormalisations import stamp_listed_at
from reviews.models import Page, Review, Skip, Tag

log = logging.getLogger("crowd.reviews")

MAX_TAGS_PER_REVIEW = 50


class ReviewError(ValueError):
    """Bad input for a review: the message is safe to show to the reviewer."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ReviewOutcome:
    review: Review
    created: bool
    review_count: int = 0
    completed_assignment_ids: list[int] = field(default_factory=list)


def resolve_tags(tag_slugs: Iterable[str]) -> list[Tag]:
    """The active tags named by ``tag_slugs``; ReviewError naming any unknown or inactive one."""
    slugs = {str(s).strip() for s in tag_slugs if str(s).strip()}
    if len(slugs) > MAX_TAGS_PER_REVIEW:
        raise ReviewError("Too many tags.", code="too_many_tags")
    if not slugs:
        return []
    tags = list(Tag.objects.filter(slug__in=slugs, active=True))
    unknown = slugs - {t.slug for t in tags}
    if unknown:
        raise ReviewError("Unknown or inactive tag: " + ", ".join(sorted(unknown)[:5]), code="unknown_tag")
    return tags


def submit_review(
    *,
    reviewer: AbstractBaseUser,
    page_id: int,
    tag_slugs: Iterable[str] = (),
    assignment_id: int | None = None,
) -> ReviewOutcome:
    """Record ``reviewer``'s review of a page with the given tags (none = "nothing of note").

    One review per reviewer per page: a second submit (double click, replayed form) changes
    nothing and returns the first review with ``created=False``.
    """
    tags = resolve_tags(tag_slugs)
    try:
        return _record_review(reviewer, page_id, tags, assignment_id)
    except _LostRace:
        # A concurrent submit of the same review won; its transaction holds the counters.
        return ReviewOutcome(review=Review.objects.get(reviewer=reviewer, page_id=page_id), created=False)


class _LostRace(Exception):
    pass


def _record_review(reviewer, page_id: int, tags: list[Tag], assignment_id: int | None) -> ReviewOutcome:
    with transaction.atomic():
        existing = Review.objects.filter(reviewer=reviewer, page_id=page_id).first()
        if existing is not None:
            return ReviewOutcome(review=existing, created=False)
        with connection.cursor() as cursor:
            # Lock the page row first: serialises reviews of one page, and fails cleanly when the
            # page was deleted (FK checks are deferred to commit otherwise).
            cursor.execute(
                "UPDATE reviews_page SET review_count = review_count + 1 WHERE id = %s "
                "RETURNING review_count, document_id",
                [page_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise ReviewError("That page does not exist.", code="no_such_page")
        review_count, document_id = row
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    reviewer=reviewer, page_id=page_id, assignment_id=assignment_id
                )
        except IntegrityError:
            raise _LostRace from None
        if tags:
            review.tags.set(tags)
        with connection.cursor() as cursor:
            if tags:
                cursor.executemany(
                    "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at) "
                    "VALUES (%s, %s, 1, %s) ON CONFLICT (page_id, tag_id) "
                    "DO UPDATE SET count = reviews_pagetag.count + 1",
                    [(page_id, tag.pk, review.created) for tag in tags],
                )
            cursor.execute(
                "INSERT INTO reviews_reviewer (user_id, anonymous, review_count, created) "
                "VALUES (%s, false, 1, now()) ON CONFLICT (user_id) "
                "DO UPDATE SET review_count = reviews_reviewer.review_count + 1",
                [reviewer.pk],
            )
        stamp_listed_at(page_id=page_id, review_count=review_count, at=review.created)
        completed = advance_assignment_progress(document_id=document_id, review_count=review_count)
        tag_ids = [t.pk for t in tags]
        transaction.on_commit(
            lambda: _send(
                signals.review_recorded,
                review_id=review.pk,
                page_id=page_id,
                reviewer_id=reviewer.pk,
                review_count=review_count,
                completed_assignment_ids=completed,
                tag_ids=tag_ids,
            )
        )
    return ReviewOutcome(
        review=review, created=True, review_count=review_count, completed_assignment_ids=completed
    )


def skip_page(*, reviewer: AbstractBaseUser, page_id: int) -> bool:
    """Remember that ``reviewer`` passed on a page; it counts for nothing. True if newly skipped."""
    if not Page.objects.filter(pk=page_id).exists():
        raise ReviewError("That page does not exist.", code="no_such_page")
    with transaction.atomic():
        if Review.objects.filter(reviewer=reviewer, page_id=page_id).exists():
            return False
        _, created = Skip.objects.get_or_create(reviewer=reviewer, page_id=page_id)
        if created:
            transaction.on_commit(
                lambda: _send(signals.page_skipped, page_id=page_id, reviewer_id=reviewer.pk)
            )
    return created


def _send(signal, **kwargs) -> None:
    # After commit the review is safe in Postgres; a failing receiver (Redis down) must not turn
    # the request into an error. Receivers log, and the registry's check/rebuild repairs drift.
    for receiver, result in signal.send_robust(sender=Review, **kwargs):
        if isinstance(result, Exception):
            log.warning("receiver %r failed: %r", receiver, result)
