"""Postgres: ``Review.quarantined``, a copy of the reviewer's quarantine (``moderation``)."""

from __future__ import annotations

from django.db import connection, transaction
from psycopg import sql

from catalogue.denormalisations._common import _chunks, _rows
from catalogue.models import Page
from denorm.changes import changed
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import compose
from reviews.models import Review, Reviewer

TABLES = {
    "review": Review,
    "reviewer": Reviewer,
    "page": Page,
}

# Issue 25: a review of a known-answer (gold) page counts for nothing either (``Page.known_answer``).
_QUARANTINE_WANT_SQL = (
    "SELECT r.id, r.reviewer_id, r.page_id, r.quarantined FROM {review} r"
    " LEFT JOIN {reviewer} rv ON rv.user_id = r.reviewer_id JOIN {page} p ON p.id = r.page_id"
    " WHERE r.quarantined <> (coalesce(rv.quarantined_at IS NOT NULL, false) OR p.known_answer){users}"
    " ORDER BY r.id"
)


def copy_quarantine(user_ids=None, *, page_ids=None) -> int:
    """Make ``Review.quarantined`` of these users' reviews (all reviews when None) agree with
    their reviewers' ``quarantined_at``, the reviewer rows locked first (as ``submit_review``
    does), and declare the reviews that flipped with ``changed()``: their pages, the pages'
    owners and assignments and the users' boards are re-derived after commit (a page that a
    quarantined reviewer pushed over a threshold goes back to the picker). Returns how many
    reviews flipped."""
    users = None if user_ids is None else sorted({int(u) for u in user_ids})
    narrow = "" if users is None else " AND r.reviewer_id = ANY(%(users)s)"
    # Issue 25: the reviews of pages that became (or stopped being) known-answer pages; their
    # rows are locked by the caller (consensus.actions.set_gold_answer).
    pages = None if page_ids is None else sorted({int(p) for p in page_ids})
    if pages is not None:
        narrow += " AND r.page_id = ANY(%(pages)s)"
    with transaction.atomic(), connection.cursor() as cursor:
        if users is not None:
            cursor.execute(
                compose(
                    "SELECT user_id FROM {reviewer} WHERE user_id = ANY(%(users)s) ORDER BY user_id FOR UPDATE",
                    **TABLES,
                ),
                {"users": users},
            )
        cursor.execute(
            compose(_QUARANTINE_WANT_SQL, users=sql.SQL(narrow), **TABLES), {"users": users, "pages": pages}
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        for chunk in _chunks([row[0] for row in rows]):
            cursor.execute(
                compose("UPDATE {review} SET quarantined = NOT quarantined WHERE id = ANY(%s)", **TABLES),
                [chunk],
            )
        changed(
            pages={page for _, _, page, _ in rows},
            users={user for _, user, _, _ in rows},
        )
    return len(rows)


def rebuild_review_quarantined() -> None:
    copy_quarantine(None)


def check_review_quarantined() -> Drift:
    drift = Drift()
    for review_id, user_id, page_id, flag in _rows(
        compose(_QUARANTINE_WANT_SQL, users=sql.SQL(""), **TABLES)
    ):
        drift.wrong += 1
        drift.add_example(
            f"review {review_id} (user {user_id}, page {page_id}): quarantined {flag}, should be {not flag}"
        )
    return drift


def repair_review_quarantined() -> Drift:
    drift = check_review_quarantined()
    if not drift.ok:
        copy_quarantine(None)
    return drift


register(
    Denormalisation(
        name="review-quarantined",
        description="Whether each review counts for nothing: its reviewer is quarantined, or its page "
        "is a known-answer (gold) page (issue 25). Such reviews are kept but count "
        "for nothing (page review counts, page tags, reviewers' counts, assignment progress, the "
        "picker's sets, leaderboards, listings), and the reviewer's own count and seen set still "
        "include them. A flip declares the review's page and reviewer changed, so every count "
        "above follows after commit.",
        derived_from="`reviews_reviewer.quarantined_at IS NOT NULL` of the review's reviewer, or "
        "`reviews_page.known_answer` of its page",
        lives_in="`reviews_review.quarantined`",
        kept_current_by="`moderation.actions.quarantine` (quarantine and release, in their "
        "transaction); `consensus.actions.set_gold_answer` / `remove_gold_answer` (in theirs); "
        "`reviews.actions.submit_review` (a new review takes its reviewer's and page's state, "
        "the reviewer row locked).",
        rebuild=rebuild_review_quarantined,
        check=check_review_quarantined,
        repair=repair_review_quarantined,
        order=5,
    )
)
