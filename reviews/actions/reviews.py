"""Writes about reviews. Views, the API, commands and tasks all call these; none writes directly.

Each action is atomic. Postgres counters (Page.review_count, PageTag, Reviewer.review_count,
Assignment.completed_count) change in the same transaction as the review, so they can never
disagree with it (a quarantined reviewer's review is recorded with ``quarantined`` and changes
none of them: see ``moderation.actions.quarantine``); Redis and memcached hear about it only
after commit (``catalogue.signals``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from assignments import scope
from assignments.actions import active_assignments_of_document_statement, assignment_progress_statement
from assignments.denormalisations.listed_at import stamp_listed_at_statement
from catalogue import signals
from catalogue.models import Document, Member, Page, Tag
from lib import redis_batch, rows, sql_batch
from lib.sql_batch import Statement
from lib.sql_names import compose
from reviews.models import PageTag, Review, Reviewer, Skip
from reviews.selectors import reviewer_status

# The tables this module's statements write and read, by the placeholders they use.
TABLES = {
    "tag": Tag,
    "page": Page,
    "document": Document,
    "member": Member,
    "reviewer": Reviewer,
    "review": Review,
    "review_tags": Review.tags.through,
    "pagetag": PageTag,
    "skip": Skip,
}

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
    # The reviewer's own review count after this submit, as the review screen shows it
    # (reviews.selectors.reviewer_status).
    own_count: int
    review_count: int = 0
    completed_assignment_ids: list[int] = field(default_factory=list)
    # The active assignments containing the page (the picker's after-commit work touches these).
    active_assignment_ids: list[int] = field(default_factory=list)


def _tag_slugs(tag_slugs: Iterable[str]) -> list[str]:
    """The distinct slugs named; ReviewError when there are more than a review may have (before
    anything is looked up)."""
    slugs = {str(s).strip() for s in tag_slugs if str(s).strip()}
    if len(slugs) > MAX_TAGS_PER_REVIEW:
        raise ReviewError("Too many tags.", code="too_many_tags")
    return sorted(slugs)


# The active tags among %(slugs)s, in the tags' own order (Tag.Meta.ordering): (id, slug).
_ACTIVE_TAGS_SQL = compose(
    'SELECT id, slug FROM {tag} WHERE active AND slug = ANY(%(slugs)s) ORDER BY "order", name', **TABLES
)


def _check_tags(slugs: list[str], found: list[tuple[int, str]]) -> None:
    """ReviewError naming any of ``slugs`` that is not among the active tags ``found``."""
    unknown = set(slugs) - {slug for _, slug in found}
    if unknown:
        raise ReviewError("Unknown or inactive tag: " + ", ".join(sorted(unknown)[:5]), code="unknown_tag")


def submit_review(
    *,
    reviewer: AbstractBaseUser,
    page_id: int,
    tag_slugs: Iterable[str] = (),
    assignment_id: int | None = None,
    only_open_pages: bool = True,
    holder: str | None = None,
) -> ReviewOutcome:
    """Record ``reviewer``'s review of a page with the given tags (none = "nothing of note").

    One review per reviewer per page: a second submit (double click, replayed form) changes
    nothing and returns the first review with ``created=False``, whatever the page's state now.

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
    (:func:`crediting_assignment_sql`), never to one that does not contain it.

    ``holder``: who held the page in the picker's reservations (the visitor, see
    ``assignments.picker.scripts.holder_for``) when that is not simply the reviewer: their
    reservation ends with the review.

    Four Postgres round trips: BEGIN, the tags with the review and its reviewer and page rows,
    the rest of its counters (``lib.sql_batch``), COMMIT. Any refusal rolls everything back.
    """
    slugs = _tag_slugs(tag_slugs)
    try:
        return _record_review(reviewer, page_id, slugs, assignment_id, only_open_pages, holder)
    except _LostRace:
        # The review was there already (a double submit, or a concurrent one that won): ours
        # rolled back, and the first one's transaction holds the counters.
        own_count, _ = reviewer_status(user=reviewer, page_id=page_id)
        return ReviewOutcome(
            review=Review.objects.get(reviewer=reviewer, page_id=page_id), created=False, own_count=own_count
        )


class _LostRace(Exception):
    pass


def crediting_assignment_sql(document: str) -> str:
    """A scalar subquery: the assignment a review of a page of the document whose id is the SQL
    expression ``document`` is filed under: ``%(preferred)s`` (a parameter, 0 for none) when it
    is active and contains the page, else another active assignment that does (the main
    featured one first, then the oldest), else NULL (the page is in no active assignment: not
    open)."""
    return compose(
        """
    SELECT a.id FROM {assignment} a
     WHERE a.active AND a.id IN ({containing})
     ORDER BY a.id = %(preferred)s DESC, a.featured = 'main' DESC, a.id
     LIMIT 1""",
        containing=sql.SQL(scope.assignments_of_document_sql(document)),
        **scope.tables(),
    )


# The reviewer's row first: a quarantine (moderation.actions.quarantine) locks it too, so this
# review is recorded either before it (and quarantined with the others) or after it, as
# quarantined. A quarantined reviewer's review counts nowhere: not in their own count, not in the
# page's (so not in thresholds, tags or progress).
# A review of a known-answer (gold) page counts for nothing either (issue 25): it is recorded as
# ``quarantined`` whatever the reviewer's state, so every count, board and credit leaves it out.
_KNOWN_ANSWER = sql.SQL(
    compose("coalesce((SELECT known_answer FROM {page} WHERE id = %(page)s), false)", **TABLES)
)
# The count returned is the reviewer's own (``reviews_made``: every review, counted or not). A
# double submit is rolled back with it (``_LostRace``).
_UPSERT_REVIEWER_SQL = compose(
    "INSERT INTO {reviewer} (user_id, anonymous, review_count, reviews_made, created) "
    "VALUES (%(user)s, false, (NOT {known_answer})::int, 1, now()) ON CONFLICT (user_id) DO UPDATE SET "
    "review_count = {reviewer}.review_count + "
    "({reviewer}.quarantined_at IS NULL AND NOT {known_answer})::int, "
    "reviews_made = {reviewer}.reviews_made + 1 "
    "RETURNING quarantined_at IS NOT NULL OR {known_answer}, reviews_made",
    known_answer=_KNOWN_ANSWER,
    **TABLES,
)

# Then, in the next statement (the reviewer's row is ours now, so its quarantine cannot change):
# the page row, which serialises reviews of one page and comes back empty when the page was
# deleted (FK checks are deferred to commit otherwise), with what the review needs to know of it:
# the document's owners (the leaderboards' receiver needs them after commit, and would otherwise
# read them with a query of its own) and the assignment to credit. The review is inserted even
# when it is refused (withdrawn, not open): the refusal rolls it back with the counters, and a
# review already there answers first (review_id NULL: a double submit), whatever the page's
# state. Parameters: %(user)s, %(page)s, %(preferred)s, %(created)s.
_RECORD_PAGE_COLUMNS = 6  # page.*: review_count, document_id, withdrawn, member_id, party_id, credited


@functools.cache
def _record_sql() -> str:
    """The new review's columns are returned as ``lib.rows`` reads them (every field of the model,
    so an added field comes back too): built on first use, when the models are loaded."""
    return compose(
        """
        WITH reviewer AS (
          SELECT quarantined_at IS NOT NULL OR {known_answer} AS quarantined
            FROM {reviewer} WHERE user_id = %(user)s
        ), page AS (
          UPDATE {page} p SET review_count = p.review_count + (SELECT (NOT quarantined)::int FROM reviewer)
            FROM {document} d LEFT JOIN {member} m ON m.id = d.member_id
           WHERE p.id = %(page)s AND d.id = p.document_id
          RETURNING p.review_count, p.document_id, p.withdrawn_at IS NOT NULL AS withdrawn, d.member_id,
                    m.party_id, ({crediting}) AS credited
        ), review AS (
          INSERT INTO {review} (reviewer_id, page_id, assignment_id, created, quarantined)
          SELECT %(user)s, %(page)s, page.credited, %(created)s, reviewer.quarantined FROM page, reviewer
          ON CONFLICT (reviewer_id, page_id) DO NOTHING RETURNING {review_columns}
        )
        SELECT page.*, review.* FROM page LEFT JOIN review ON true""",
        known_answer=_KNOWN_ANSWER,
        crediting=sql.SQL(crediting_assignment_sql("p.document_id")),
        review_columns=sql.SQL(rows.columns(Review, rows.table(Review))),
        **TABLES,
    )


# A new review's tags: nothing to compare with, so no read of the existing rows.
_TAG_REVIEW_SQL = compose(
    "INSERT INTO {review_tags} (review_id, tag_id) SELECT %(review)s, unnest(%(tags)s)", **TABLES
)

_COUNT_PAGE_TAGS_SQL = compose(
    "INSERT INTO {pagetag} (page_id, tag_id, count, first_tagged_at) "
    "SELECT %(page)s, unnest(%(tags)s), 1, %(at)s ON CONFLICT (page_id, tag_id) "
    "DO UPDATE SET count = {pagetag}.count + 1",
    **TABLES,
)


def _record_review(
    reviewer, page_id: int, slugs: list[str], assignment_id: int | None, only_open_pages: bool, holder
) -> ReviewOutcome:
    created = timezone.now()
    first = {"tags": Statement(_ACTIVE_TAGS_SQL, {"slugs": slugs})} if slugs else {}
    first["reviewer"] = Statement(_UPSERT_REVIEWER_SQL, {"user": reviewer.pk, "page": page_id})
    first["record"] = Statement(
        _record_sql(),
        {"user": reviewer.pk, "page": page_id, "preferred": assignment_id or 0, "created": created},
    )
    with transaction.atomic(), connection.cursor() as cursor:
        answers = sql_batch.run_named(cursor, first)
        tags = answers.get("tags", [])
        if slugs:
            # Refused before anything else, as if the tags had been looked up first.
            _check_tags(slugs, tags)
        tag_ids = [tag_id for tag_id, _ in tags]
        [(quarantined, own_count)] = answers["reviewer"]
        if not answers["record"]:
            raise ReviewError("That page does not exist.", code="no_such_page")
        [recorded] = answers["record"]
        review_count, document_id, withdrawn, member_id, party_id, credited = recorded[:_RECORD_PAGE_COLUMNS]
        review_id = recorded[_RECORD_PAGE_COLUMNS]
        if review_id is None:
            raise _LostRace
        if withdrawn:
            # The page lock orders this review with a withdrawal (moderation.actions.takedown
            # locks the page too): it sees a withdrawal that committed first, and rolls back.
            raise ReviewError(WITHDRAWN_MESSAGE, code="withdrawn")
        if credited is None and only_open_pages:
            # Rolls back the counters and the review: nothing is written for a page not open.
            raise ReviewError("That page is not open for review yet.", code="not_open")
        statements: dict[str, Statement] = {}
        if tags:
            statements["tag_review"] = Statement(_TAG_REVIEW_SQL, {"review": review_id, "tags": tag_ids})
        if not quarantined:
            if tags:
                statements["count_tags"] = Statement(
                    _COUNT_PAGE_TAGS_SQL, {"page": page_id, "tags": tag_ids, "at": created}
                )
            statements["listed_at"] = stamp_listed_at_statement(
                page_id=page_id, document_id=document_id, review_count=review_count, at=created
            )
            statements["assignments"] = assignment_progress_statement(
                document_id=document_id, review_count=review_count, page_id=page_id
            )
        else:
            statements["assignments"] = active_assignments_of_document_statement(document_id=document_id)
        # (id, active, crossed) per assignment containing the page, or the active ones' ids
        # alone for a quarantined review.
        progressed = sql_batch.run_named(cursor, statements)["assignments"]
        completed = [] if quarantined else sorted(row[0] for row in progressed if row[2])
        active_ids = sorted(row[0] for row in progressed if quarantined or row[1])
        tag_slugs = [slug for _, slug in tags]
        transaction.on_commit(
            lambda: _send(
                signals.review_recorded,
                review_id=review_id,
                page_id=page_id,
                reviewer_id=reviewer.pk,
                review_count=review_count,
                completed_assignment_ids=completed,
                active_assignment_ids=active_ids,
                holder=holder,
                tag_ids=tag_ids,
                tag_slugs=tag_slugs,
                assignment_id=credited,
                document_id=document_id,
                owners=(member_id, party_id),
                created=created,
                quarantined=quarantined,
            )
        )
    review = rows.instance(Review, recorded, start=_RECORD_PAGE_COLUMNS)
    review.reviewer = reviewer
    return ReviewOutcome(
        review=review,
        created=True,
        own_count=own_count,
        review_count=review_count,
        completed_assignment_ids=completed,
        active_assignment_ids=active_ids,
    )


# One statement, so atomic on its own: the page's state, and the skip recorded only when the
# page exists, is not withdrawn, is open (when that is asked) and was not reviewed by this
# reviewer. Parameters: %(user)s, %(page)s, %(only_open)s, %(created)s.
@functools.cache  # scope's fragments: built on first use, when the models are loaded
def _skip_sql() -> str:
    return compose(
        """
    WITH page AS (
      SELECT p.withdrawn_at IS NOT NULL AS withdrawn,
             ({crediting}) IS NOT NULL AS open,
             ARRAY(SELECT a.id FROM {assignment} a WHERE a.active
                   AND a.id IN ({containing})) AS active_ids
        FROM {page} p WHERE p.id = %(page)s
    ), skip AS (
      INSERT INTO {skip} (reviewer_id, page_id, created)
      SELECT %(user)s, %(page)s, %(created)s FROM page
       WHERE NOT page.withdrawn AND (page.open OR NOT %(only_open)s)
         AND NOT EXISTS (SELECT 1 FROM {review} r WHERE r.reviewer_id = %(user)s AND r.page_id = %(page)s)
      ON CONFLICT (reviewer_id, page_id) DO NOTHING RETURNING id
    )
    SELECT page.withdrawn, page.open, EXISTS (SELECT 1 FROM skip), page.active_ids FROM page""",
        crediting=sql.SQL(crediting_assignment_sql("p.document_id")),
        containing=sql.SQL(scope.assignments_of_document_sql("p.document_id")),
        assignment=scope.tables()["assignment"],
        **TABLES,
    )


def skip_page(
    *, reviewer: AbstractBaseUser, page_id: int, only_open_pages: bool = True, holder: str | None = None
) -> bool:
    """Remember that ``reviewer`` passed on a page; it counts for nothing. True if newly skipped
    (False: skipped or reviewed before). ``only_open_pages`` and ``holder``: as for
    :func:`submit_review`. One Postgres round trip."""
    with connection.cursor() as cursor:
        cursor.execute(
            _skip_sql(),
            {
                "user": reviewer.pk,
                "page": page_id,
                "only_open": only_open_pages,
                "preferred": 0,
                "created": timezone.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise ReviewError("That page does not exist.", code="no_such_page")
    withdrawn, is_open, created, active_ids = row
    if withdrawn:
        raise ReviewError(WITHDRAWN_MESSAGE, code="withdrawn")
    if only_open_pages and not is_open:
        raise ReviewError("That page is not open for review yet.", code="not_open")
    if created:
        transaction.on_commit(
            lambda: _send(
                signals.page_skipped,
                page_id=page_id,
                reviewer_id=reviewer.pk,
                active_assignment_ids=sorted(active_ids),
                holder=holder,
            )
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
