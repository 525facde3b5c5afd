"""Postgres counters: ``Page.review_count``, ``PageTag`` (count and ``first_tagged_at``) and
``Reviewer.review_count``, recounted from the reviews."""

from __future__ import annotations

from django.db import connection, transaction

from catalogue.denormalisations._common import _chunks, _repair_counts, _rows, _wrong_counts
from catalogue.models import Page
from denorm.changes import Changes
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import compose
from reviews.models import PageTag, Review, Reviewer

TABLES = {
    "page": Page,
    "pagetag": PageTag,
    "review": Review,
    "review_tags": Review.tags.through,
    "reviewer": Reviewer,
}


def recount_page_reviews(page_ids) -> None:
    """Set ``Page.review_count`` of these pages from their reviews. Each chunk locks its pages
    first (as ``submit_review`` does), so the count sees every committed review and no review of
    these pages commits in between."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                compose("SELECT id FROM {page} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", **TABLES), [chunk]
            )
            cursor.execute(
                compose(
                    "UPDATE {page} p SET review_count = c.n FROM ("
                    " SELECT p2.id, count(r.id) AS n FROM {page} p2"
                    " LEFT JOIN {review} r ON r.page_id = p2.id AND NOT r.quarantined"
                    " WHERE p2.id = ANY(%s) GROUP BY p2.id"
                    ") c WHERE p.id = c.id AND p.review_count <> c.n",
                    **TABLES,
                ),
                [chunk],
            )


def recount_page_tags(page_ids) -> None:
    """Make the ``PageTag`` rows of these pages agree with their reviews (pages locked first)."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                compose("SELECT id FROM {page} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", **TABLES), [chunk]
            )
            cursor.execute(
                compose(
                    "SELECT r.page_id, rt.tag_id, count(*), min(r.created) FROM {review} r"
                    " JOIN {review_tags} rt ON rt.review_id = r.id WHERE r.page_id = ANY(%s)"
                    " AND NOT r.quarantined GROUP BY r.page_id, rt.tag_id",
                    **TABLES,
                ),
                [chunk],
            )
            truth = {(p, t): (n, first) for p, t, n, first in cursor.fetchall()}
            cursor.execute(
                compose(
                    "SELECT id, page_id, tag_id, count, first_tagged_at FROM {pagetag} WHERE page_id = ANY(%s)",
                    **TABLES,
                ),
                [chunk],
            )
            gone, fixes = [], []
            for row_id, p, t, n, first in cursor.fetchall():
                want = truth.pop((p, t), None)
                if want is None:
                    gone.append(row_id)
                elif want != (n, first):
                    fixes.append((want[0], want[1], row_id))
            if gone:
                cursor.execute(compose("DELETE FROM {pagetag} WHERE id = ANY(%s)", **TABLES), [gone])
            if fixes:
                cursor.executemany(
                    compose("UPDATE {pagetag} SET count = %s, first_tagged_at = %s WHERE id = %s", **TABLES),
                    fixes,
                )
            if truth:
                cursor.executemany(
                    compose(
                        "INSERT INTO {pagetag} (page_id, tag_id, count, first_tagged_at) VALUES (%s, %s, %s, %s)",
                        **TABLES,
                    ),
                    [(p, t, n, first) for (p, t), (n, first) in truth.items()],
                )


def recount_reviewers(user_ids) -> None:
    """Set ``Reviewer.review_count`` and ``reviews_made`` of these users from their reviews (rows
    locked first)."""
    for chunk in _chunks(user_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                compose(
                    "SELECT user_id FROM {reviewer} WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE",
                    **TABLES,
                ),
                [chunk],
            )
            # A user with reviews always has a Reviewer row (submit_review upserts it); a lost one
            # is recreated here.
            cursor.execute(
                compose(
                    "INSERT INTO {reviewer} (user_id, anonymous, review_count, created)"
                    " SELECT DISTINCT r.reviewer_id, false, 0, now() FROM {review} r"
                    " WHERE r.reviewer_id = ANY(%s) ON CONFLICT (user_id) DO NOTHING",
                    **TABLES,
                ),
                [chunk],
            )
            cursor.execute(
                compose(
                    "UPDATE {reviewer} rv SET review_count = c.n, reviews_made = c.made FROM ("
                    " SELECT rv2.user_id, count(r.id) FILTER (WHERE NOT r.quarantined) AS n, count(r.id) AS made"
                    " FROM {reviewer} rv2 LEFT JOIN {review} r ON r.reviewer_id = rv2.user_id"
                    " WHERE rv2.user_id = ANY(%s) GROUP BY rv2.user_id"
                    ") c WHERE rv.user_id = c.user_id AND (rv.review_count, rv.reviews_made) <> (c.n, c.made)",
                    **TABLES,
                ),
                [chunk],
            )


def refresh_review_counters(changes: Changes) -> None:
    if changes.pages:
        recount_page_reviews(changes.pages)
        recount_page_tags(changes.pages)
    users = changes.seen_users()
    if users:
        recount_reviewers(users)


def rebuild_page_review_count() -> None:
    recount_page_reviews(Page.objects.values_list("id", flat=True))


def rebuild_page_tags() -> None:
    recount_page_tags(Page.objects.values_list("id", flat=True))


def rebuild_reviewer_review_count() -> None:
    users = set(Reviewer.objects.values_list("user_id", flat=True))
    users |= set(Review.objects.values_list("reviewer_id", flat=True).distinct())
    recount_reviewers(users)


_PAGE_REVIEW_COUNT_SQL = compose(
    "SELECT p.id, p.review_count, coalesce(c.n, 0) FROM {page} p LEFT JOIN ("
    " SELECT page_id, count(*) AS n FROM {review} WHERE NOT quarantined GROUP BY page_id"
    ") c ON c.page_id = p.id WHERE p.review_count <> coalesce(c.n, 0) ORDER BY p.id",
    **TABLES,
)


def check_page_review_count() -> Drift:
    return _wrong_counts("page", _PAGE_REVIEW_COUNT_SQL)


def repair_page_review_count() -> Drift:
    return _repair_counts("page", _PAGE_REVIEW_COUNT_SQL, recount_page_reviews)


def check_page_tags() -> Drift:
    return _page_tag_drift()[0]


def repair_page_tags() -> Drift:
    drift, page_ids = _page_tag_drift()
    if page_ids:
        recount_page_tags(page_ids)
    return drift


def _page_tag_drift() -> tuple[Drift, set[int]]:
    drift, page_ids = Drift(), set()
    for page_id, tag_id, n, first, count, first_tagged_at in _rows(
        compose(
            "WITH truth AS ("
            " SELECT r.page_id, rt.tag_id, count(*) AS n, min(r.created) AS first FROM {review} r"
            " JOIN {review_tags} rt ON rt.review_id = r.id WHERE NOT r.quarantined"
            " GROUP BY r.page_id, rt.tag_id)"
            " SELECT coalesce(t.page_id, pt.page_id), coalesce(t.tag_id, pt.tag_id), t.n, t.first,"
            " pt.count, pt.first_tagged_at FROM truth t FULL OUTER JOIN {pagetag} pt"
            " ON pt.page_id = t.page_id AND pt.tag_id = t.tag_id"
            " WHERE t.n IS NULL OR pt.count IS NULL OR t.n <> pt.count OR t.first <> pt.first_tagged_at"
            " ORDER BY 1, 2",
            **TABLES,
        )
    ):
        page_ids.add(page_id)
        if count is None:
            drift.missing += 1
            drift.add_example(f"page {page_id} tag {tag_id}: row missing (count {n})")
        elif n is None:
            drift.extra += 1
            drift.add_example(f"page {page_id} tag {tag_id}: row without reviews (count {count})")
        else:
            drift.wrong += 1
            drift.add_example(
                f"page {page_id} tag {tag_id}: count {count} first {first_tagged_at:%Y-%m-%d %H:%M:%S}, "
                f"should be {n} first {first:%Y-%m-%d %H:%M:%S}"
            )
    return drift, page_ids


def check_reviewer_review_count() -> Drift:
    return _reviewer_drift()[0]


def repair_reviewer_review_count() -> Drift:
    drift, user_ids = _reviewer_drift()
    if user_ids:
        recount_reviewers(user_ids)
    return drift


def _reviewer_drift() -> tuple[Drift, set[int]]:
    drift, user_ids = Drift(), set()
    for user_id, stored, actual, stored_made, made in _rows(
        compose(
            "SELECT coalesce(rv.user_id, c.reviewer_id), rv.review_count, coalesce(c.n, 0),"
            " rv.reviews_made, coalesce(c.made, 0)"
            " FROM {reviewer} rv FULL OUTER JOIN ("
            " SELECT reviewer_id, count(*) FILTER (WHERE NOT quarantined) AS n, count(*) AS made"
            " FROM {review} GROUP BY reviewer_id"
            ") c ON c.reviewer_id = rv.user_id"
            " WHERE rv.user_id IS NULL OR (rv.review_count, rv.reviews_made) <> (coalesce(c.n, 0), coalesce(c.made, 0))"
            " ORDER BY 1",
            **TABLES,
        )
    ):
        user_ids.add(user_id)
        if stored is None:
            drift.missing += 1
            drift.add_example(f"user {user_id}: no reviewer row ({actual} reviews)")
        else:
            drift.wrong += 1
            drift.add_example(
                f"user {user_id}: {stored} counted of {stored_made}, should be {actual} of {made}"
            )
    return drift, user_ids


_PG_KEPT = (
    "`reviews.actions.submit_review` in the review's transaction; after commit, a recount of the "
    "affected rows by `denorm.changed` (page, review or reviewer deletes and "
    "cascades, moves of existing reviews, imports, bulk changes and tag edits declared by their "
    "callers)."
)


register(
    Denormalisation(
        name="page-review-count",
        description="How many reviewers reviewed each page: drives the threshold, the done sets and "
        "the pages' progress.",
        derived_from="count of `reviews_review` rows per page, quarantined reviews left out",
        lives_in="`reviews_page.review_count`",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_page_review_count,
        check=check_page_review_count,
        repair=repair_page_review_count,
        refresh=refresh_review_counters,
        order=10,
    )
)


register(
    Denormalisation(
        name="page-tags",
        description="Per page and tag: how many reviews gave the page the tag, and when it first got "
        "it (the earliest such review still present). Drives the most-tagged and the in-order "
        "listings. Counts reviews whatever the tag's active flag: deactivating a tag changes "
        "nothing here, listings hide inactive tags.",
        derived_from="`reviews_review` (quarantined reviews left out) joined with "
        "`reviews_review_tags`: count and min(created) per (page, tag)",
        lives_in="`reviews_pagetag` (count, first_tagged_at)",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_page_tags,
        check=check_page_tags,
        repair=repair_page_tags,
        refresh=refresh_review_counters,
        order=11,
    )
)


register(
    Denormalisation(
        name="reviewer-review-count",
        description="How many pages each reviewer reviewed: profiles and leaderboards (counted), "
        "and the count the reviewer sees as their own (every review).",
        derived_from="count of `reviews_review` rows per reviewer: `review_count` leaves out "
        "quarantined reviews (a quarantine, a known-answer page: public credit), `reviews_made` "
        "counts them all (the reviewer is not to notice either)",
        lives_in="`reviews_reviewer.review_count`, `reviews_reviewer.reviews_made`",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_reviewer_review_count,
        check=check_reviewer_review_count,
        repair=repair_reviewer_review_count,
        refresh=refresh_review_counters,
        order=12,
    )
)
