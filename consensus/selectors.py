"""Reads for the crowd model: the votes behind a page's confidence, the reviews the full
re-estimation learns from, and what a reviewer or staff may see of reliability. No writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection

from consensus import model

CHUNK = 5000

# Each (PageTag row, counted review of its page): the tag's prevalence, the reviewer's weight for
# the tag (NULL: never estimated, a newcomer) and whether the review applied the tag. A row whose
# page has no counted review comes once with applied NULL (no vote: the prior alone).
# Parameter: %(pages)s (an array of page ids).
_VOTES_SQL = """
    SELECT pt.id, pt.page_id, pt.confidence, tp.prevalence, rel.weight,
           CASE WHEN r.id IS NULL THEN NULL ELSE rt.review_id IS NOT NULL END
      FROM reviews_pagetag pt
      LEFT JOIN reviews_review r ON r.page_id = pt.page_id AND NOT r.quarantined
      LEFT JOIN reviews_review_tags rt ON rt.review_id = r.id AND rt.tag_id = pt.tag_id
      LEFT JOIN consensus_reliability rel ON rel.user_id = r.reviewer_id AND rel.tag_id = pt.tag_id
      LEFT JOIN consensus_tagprevalence tp ON tp.tag_id = pt.tag_id
     WHERE pt.page_id = ANY(%(pages)s)"""


def rounded(confidence: float) -> float:
    """Six places: what is stored, so that a cursor's integer millionths compare exactly."""
    return round(confidence, 6)


@dataclass(frozen=True)
class Confidence:
    row_id: int  # reviews_pagetag.id
    page_id: int
    stored: float | None
    want: float


def pagetag_confidences(page_ids: Iterable[int]) -> list[Confidence]:
    """What ``PageTag.confidence`` should be for every row of these pages, beside what it is."""
    page_ids = sorted({int(p) for p in page_ids})
    out: list[Confidence] = []
    for start in range(0, len(page_ids), CHUNK):
        with connection.cursor() as cursor:
            cursor.execute(_VOTES_SQL, {"pages": page_ids[start : start + CHUNK]})
            rows = cursor.fetchall()
        stored: dict[int, float | None] = {}
        page_of: dict[int, int] = {}
        prevalence: dict[int, float] = {}
        votes: dict[int, list[tuple[bool, float]]] = defaultdict(list)
        for row_id, page_id, current, prev, weight, applied in rows:
            stored[row_id] = current
            page_of[row_id] = page_id
            prevalence[row_id] = model.NEUTRAL_PREVALENCE if prev is None else prev
            if applied is not None:
                votes[row_id].append((applied, model.NEWCOMER.weight if weight is None else weight))
        for row_id in sorted(stored):
            want = rounded(model.posterior(votes[row_id], prevalence=prevalence[row_id]))
            out.append(Confidence(row_id=row_id, page_id=page_of[row_id], stored=stored[row_id], want=want))
    return out


def all_page_ids_with_tags() -> Iterator[list[int]]:
    """Every page with a PageTag row, in chunks (the full check and rebuild walk these)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT page_id FROM reviews_pagetag ORDER BY page_id")
        ids = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@dataclass(frozen=True)
class TrainingVote:
    page_id: int
    user_id: int
    tag_ids: frozenset[int]


def training_votes() -> Iterator[TrainingVote]:
    """Every review the model learns from, with its tags, streamed in page order: the counted
    ones, and those of known-answer pages (which count for nothing else) by reviewers not
    quarantined. A quarantined reviewer's reviews teach the model nothing: they are out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.page_id, r.reviewer_id, coalesce(array_agg(rt.tag_id) FILTER (WHERE rt.tag_id IS NOT NULL),"
            " '{}') FROM reviews_review r LEFT JOIN reviews_review_tags rt ON rt.review_id = r.id"
            " JOIN reviews_page p ON p.id = r.page_id LEFT JOIN reviews_reviewer rv ON rv.user_id = r.reviewer_id"
            " WHERE NOT r.quarantined OR (p.known_answer AND rv.quarantined_at IS NULL)"
            " GROUP BY r.id ORDER BY r.page_id, r.id"
        )
        for page_id, user_id, tag_ids in cursor:
            yield TrainingVote(page_id=page_id, user_id=user_id, tag_ids=frozenset(tag_ids))


def gold_answers() -> dict[int, frozenset[int]]:
    """page id -> the tag ids editors say are correct."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.page_id, coalesce(array_agg(gt.tag_id) FILTER (WHERE gt.tag_id IS NOT NULL), '{}')"
            " FROM consensus_goldanswer g LEFT JOIN consensus_goldanswer_tags gt ON gt.goldanswer_id = g.id"
            " GROUP BY g.page_id"
        )
        return {page_id: frozenset(tags) for page_id, tags in cursor.fetchall()}


# --- Every tag of a page (retirement needs the tags nobody applied too) ------------------------


def page_tag_confidences(page_ids: Iterable[int]) -> dict[int, dict[int, float]]:
    """page id -> active tag id -> confidence, for every active tag (a tag nobody applied is a
    row of "no" votes). Three queries whatever the number of pages: votes, weights, priors."""
    page_ids = sorted({int(p) for p in page_ids})
    with connection.cursor() as cursor:
        cursor.execute('SELECT id FROM reviews_tag WHERE active ORDER BY "order", id')
        tag_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT r.page_id, r.reviewer_id, coalesce(array_agg(rt.tag_id) FILTER (WHERE rt.tag_id IS NOT NULL),"
            " '{}') FROM reviews_review r LEFT JOIN reviews_review_tags rt ON rt.review_id = r.id"
            " WHERE r.page_id = ANY(%(pages)s) AND NOT r.quarantined GROUP BY r.id",
            {"pages": page_ids},
        )
        votes = cursor.fetchall()
        users = sorted({user for _, user, _ in votes})
        cursor.execute(
            "SELECT user_id, tag_id, weight FROM consensus_reliability WHERE user_id = ANY(%(users)s)",
            {"users": users},
        )
        weights = {(u, t): w for u, t, w in cursor.fetchall()}
        cursor.execute("SELECT tag_id, prevalence FROM consensus_tagprevalence")
        prevalence = dict(cursor.fetchall())
    by_page: dict[int, list[tuple[int, set[int]]]] = {p: [] for p in page_ids}
    for page_id, user, tags in votes:
        by_page[page_id].append((user, set(tags)))
    return {
        page_id: {
            tag_id: model.posterior(
                (
                    (tag_id in tags, weights.get((user, tag_id), model.NEWCOMER.weight))
                    for user, tags in answers
                ),
                prevalence=prevalence.get(tag_id, model.NEUTRAL_PREVALENCE),
            )
            for tag_id in tag_ids
        }
        for page_id, answers in by_page.items()
    }


@dataclass(frozen=True)
class RetiringAssignment:
    id: int
    threshold: int
    confidence_target: float
    min_reviews: int


def retiring_assignments_of_pages(page_ids: Iterable[int]) -> dict[int, tuple[int, list[RetiringAssignment]]]:
    """page id -> (its counted review count, the active assignments containing it that retire
    pages when confident and still count it as to do). One query."""
    from assignments import scope

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.id, p.review_count, a.id, a.threshold, a.confidence_target, a.min_reviews
                  FROM reviews_page p
                  JOIN assignments_assignment a ON a.active AND a.retire_when_confident
                   AND a.id IN ({scope.assignments_of_document_sql("p.document_id")})
                 WHERE p.id = ANY(%(pages)s) AND p.withdrawn_at IS NULL
                   AND p.review_count < a.threshold AND NOT {scope.retired_sql("a.id", "p.id")}""",
            {"pages": sorted({int(p) for p in page_ids})},
        )
        out: dict[int, tuple[int, list[RetiringAssignment]]] = {}
        for page_id, count, aid, threshold, target, min_reviews in cursor.fetchall():
            out.setdefault(page_id, (count, []))[1].append(
                RetiringAssignment(
                    id=aid, threshold=threshold, confidence_target=target, min_reviews=min_reviews
                )
            )
    return out


def retiring_todo_pages() -> list[int]:
    """Every page still to do in an assignment that retires when confident (the sweep after a
    re-estimation)."""
    from assignments import scope

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT p.id FROM ({scope.ASSIGNMENT_PAGES_SQL}) x
                  JOIN assignments_assignment a ON a.id = x.assignment_id AND a.active AND a.retire_when_confident
                  JOIN reviews_page p ON p.id = x.page_id
                 WHERE p.review_count >= a.min_reviews AND p.review_count < a.threshold
                   AND NOT {scope.retired_sql("a.id", "p.id")} ORDER BY p.id"""
        )
        return [row[0] for row in cursor.fetchall()]
