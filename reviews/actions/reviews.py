"""Writes about reviews. Views, the API, commands and tasks all call these; none writes directly.

Each action is atomic. Postgres counters (Page.review_count, PageTag, Reviewer.review_count,
Assignment.completed_count) change in the same transaction as the review, so they can never
disagree with it (a quarantined reviewer's review is recorded with ``quarantined`` and changes
none of them: see ``moderation.actions.quarantine``); Redis and memcached hear about it only
after commit (``reviews.signals``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction

from assignments import scope
from assignments.actions import advance_assignment_progress
from lib import redis_batch
from reviews import signals
from reviews.denormalisations import stamp_listed_at
from reviews.models import Page, Review, Skip, Tag

log = logging.getLogger("crowd.reviews")

MAX_TAGS_PER_REVIEW = 50
WITHDRAWN_MESSAGE = "That page has been withdrawn by the editors and can no longer be reviewed."


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
    only_open_pages: bool = True,
) -> ReviewOutcome:
    """Record ``reviewer``'s review of a page with the given tags (none = "nothing of note").

    One review per reviewer per page: a second submit (double click, replayed form) changes
    nothing and returns the first review with ``created=False``.

    A withdrawn page (``Page.withdrawn_at``, see ``moderation.actions.takedown``) is never
    reviewed: ReviewError code ``withdrawn``, whoever asks.

    ``only_open_pages`` (on by default, so that no public entry point can forget it): only pages
    of an active assignment may be reviewed, ReviewError code ``not_open`` otherwise (a
    just-uploaded document in no assignment is not open to the public). There is no other open
    mode: to open pages, an editor puts them in an active assignment (it need not be featured).
    Only trusted callers (commands, the demo seeder, tests) may pass False, and a page in no
    assignment then gets a review filed under no assignment.

    The review is credited to ``assignment_id`` (the visitor's current assignment) when that
    assignment is active and contains the page, else to an active assignment that does
    (:func:`crediting_assignment`), never to one that does not contain it.
    """
    tags = resolve_tags(tag_slugs)
    try:
        return _record_review(reviewer, page_id, tags, assignment_id, only_open_pages)
    except _LostRace:
        # A concurrent submit of the same review won; its transaction holds the counters.
        return ReviewOutcome(review=Review.objects.get(reviewer=reviewer, page_id=page_id), created=False)


class _LostRace(Exception):
    pass


def _record_review(
    reviewer, page_id: int, tags: list[Tag], assignment_id: int | None, only_open_pages: bool
) -> ReviewOutcome:
    with transaction.atomic():
        existing = Review.objects.filter(reviewer=reviewer, page_id=page_id).first()
        if existing is not None:
            return ReviewOutcome(review=existing, created=False)
        with connection.cursor() as cursor:
            # The reviewer's row first: a quarantine (moderation.actions.quarantine) locks it too,
            # so this review is recorded either before it (and quarantined with the others) or
            # after it, as quarantined. A quarantined reviewer's review counts nowhere: not in
            # their own count, not in the page's (so not in thresholds, tags or progress).
            cursor.execute(
                "INSERT INTO reviews_reviewer (user_id, anonymous, review_count, created) "
                "VALUES (%s, false, 1, now()) ON CONFLICT (user_id) DO UPDATE SET review_count = "
                "reviews_reviewer.review_count + (reviews_reviewer.quarantined_at IS NULL)::int "
                "RETURNING quarantined_at IS NOT NULL",
                [reviewer.pk],
            )
            quarantined = cursor.fetchone()[0]
            # Then the page row: serialises reviews of one page, and fails cleanly when the page
            # was deleted (FK checks are deferred to commit otherwise).
            # The document's owners come back with it: the leaderboards' receiver needs them
            # after commit, and would otherwise read them with a query of its own.
            cursor.execute(
                "UPDATE reviews_page p SET review_count = p.review_count + %s "
                "FROM reviews_document d LEFT JOIN reviews_member m ON m.id = d.member_id "
                "WHERE p.id = %s AND d.id = p.document_id "
                "RETURNING p.review_count, p.document_id, p.withdrawn_at IS NOT NULL, d.member_id, m.party_id",
                [0 if quarantined else 1, page_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise ReviewError("That page does not exist.", code="no_such_page")
        review_count, document_id, withdrawn, member_id, party_id = row
        if withdrawn:
            # The lock above orders this review with a withdrawal (moderation.actions.takedown
            # locks the page too): it sees a withdrawal that committed first, and rolls back.
            raise ReviewError(WITHDRAWN_MESSAGE, code="withdrawn")
        # Raising here rolls back the counter above: nothing is written for a page not open.
        credited = crediting_assignment(document_id=document_id, preferred_id=assignment_id)
        if credited is None and only_open_pages:
            raise ReviewError("That page is not open for review yet.", code="not_open")
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    reviewer=reviewer, page_id=page_id, assignment_id=credited, quarantined=quarantined
                )
        except IntegrityError:
            raise _LostRace from None
        if tags:
            # add(), not set(): the review is new, so there is nothing to compare with, and with no
            # m2m_changed receiver on Review.tags add() is one INSERT ... ON CONFLICT DO NOTHING
            # where set() first reads the review's (empty) tag set.
            review.tags.add(*tags)
        completed: list[int] = []
        if not quarantined:
            if tags:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at) "
                        "VALUES (%s, %s, 1, %s) ON CONFLICT (page_id, tag_id) "
                        "DO UPDATE SET count = reviews_pagetag.count + 1",
                        [(page_id, tag.pk, review.created) for tag in tags],
                    )
            stamp_listed_at(
                page_id=page_id, document_id=document_id, review_count=review_count, at=review.created
            )
            completed = advance_assignment_progress(document_id=document_id, review_count=review_count)
        tag_ids = [t.pk for t in tags]
        tag_slugs = [t.slug for t in tags]
        transaction.on_commit(
            lambda: _send(
                signals.review_recorded,
                review_id=review.pk,
                page_id=page_id,
                reviewer_id=reviewer.pk,
                review_count=review_count,
                completed_assignment_ids=completed,
                tag_ids=tag_ids,
                tag_slugs=tag_slugs,
                assignment_id=credited,
                document_id=document_id,
                owners=(member_id, party_id),
                created=review.created,
                quarantined=quarantined,
            )
        )
    return ReviewOutcome(
        review=review, created=True, review_count=review_count, completed_assignment_ids=completed
    )


# The active assignments containing a document, the preferred one first, then the main featured
# one, then the oldest. Parameters: %(doc)s, %(preferred)s.
_CREDITING_SQL = f"""
    SELECT a.id FROM assignments_assignment a
     WHERE a.active AND a.id IN ({scope.ASSIGNMENTS_OF_DOCUMENT_SQL})
     ORDER BY a.id = %(preferred)s DESC, a.featured = 'main' DESC, a.id
     LIMIT 1"""


def crediting_assignment(*, document_id: int, preferred_id: int | None) -> int | None:
    """The assignment a review of a page of ``document_id`` is filed under: ``preferred_id`` when
    it is active and contains the page, else another active assignment that does (the main
    featured one first), else None (the page is in no active assignment: not open)."""
    with connection.cursor() as cursor:
        cursor.execute(_CREDITING_SQL, {"doc": document_id, "preferred": preferred_id or 0})
        row = cursor.fetchone()
    return None if row is None else row[0]


def skip_page(*, reviewer: AbstractBaseUser, page_id: int, only_open_pages: bool = True) -> bool:
    """Remember that ``reviewer`` passed on a page; it counts for nothing. True if newly skipped.
    ``only_open_pages``: as for :func:`submit_review`."""
    row = Page.objects.filter(pk=page_id).values_list("document_id", "withdrawn_at").first()
    if row is None:
        raise ReviewError("That page does not exist.", code="no_such_page")
    document_id, withdrawn_at = row
    if withdrawn_at is not None:
        raise ReviewError(WITHDRAWN_MESSAGE, code="withdrawn")
    if only_open_pages and crediting_assignment(document_id=document_id, preferred_id=None) is None:
        raise ReviewError("That page is not open for review yet.", code="not_open")
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
    # Their queued Redis writes leave together, in one round trip, when the batch closes.
    with redis_batch.batch():
        for receiver, result in signal.send_robust(sender=Review, **kwargs):
            if isinstance(result, Exception):
                log.warning("receiver %r failed: %r", receiver, result)
