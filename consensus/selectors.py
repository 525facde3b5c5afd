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
    SELECT pt.id, pt.confidence, tp.prevalence, rel.weight,
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
        prevalence: dict[int, float] = {}
        votes: dict[int, list[tuple[bool, float]]] = defaultdict(list)
        for row_id, current, prev, weight, applied in rows:
            stored[row_id] = current
            prevalence[row_id] = model.NEUTRAL_PREVALENCE if prev is None else prev
            if applied is not None:
                votes[row_id].append((applied, model.NEWCOMER.weight if weight is None else weight))
        for row_id in sorted(stored):
            want = rounded(model.posterior(votes[row_id], prevalence=prevalence[row_id]))
            out.append(Confidence(row_id=row_id, stored=stored[row_id], want=want))
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
    """Every counted review with its tags (quarantined reviews teach the model nothing: their
    reviewer is already out), streamed in page order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.page_id, r.reviewer_id, coalesce(array_agg(rt.tag_id) FILTER (WHERE rt.tag_id IS NOT NULL),"
            " '{}') FROM reviews_review r LEFT JOIN reviews_review_tags rt ON rt.review_id = r.id"
            " WHERE NOT r.quarantined GROUP BY r.id ORDER BY r.page_id, r.id"
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
