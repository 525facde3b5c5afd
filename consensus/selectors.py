"""Reads for the crowd model: the votes behind a page's confidence, the reviews the full
re-estimation learns from, and what a reviewer or staff may see of reliability. No writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection
from psycopg import sql

from assignments import scope
from assignments.models import Assignment
from catalogue.models import Page, Tag
from consensus import model
from consensus.models import GoldAnswer, Reliability, TagPrevalence
from lib.sql_names import compose
from reviews.models import PageTag, Review, Reviewer

TABLES = {
    "assignment": Assignment,
    "goldanswer": GoldAnswer,
    "goldanswer_tags": GoldAnswer.tags.through,
    "reliability": Reliability,
    "tagprevalence": TagPrevalence,
    "page": Page,
    "pagetag": PageTag,
    "review": Review,
    "review_tags": Review.tags.through,
    "reviewer": Reviewer,
    "tag": Tag,
}

CHUNK = 5000

# Each (PageTag row, counted review of its page): the tag's prevalence, the reviewer's weight for
# the tag (NULL: never estimated, a newcomer) and whether the review applied the tag. A row whose
# page has no counted review comes once with applied NULL (no vote: the prior alone).
# Parameter: %(pages)s (an array of page ids).
_VOTES_SQL = compose(
    """
    SELECT pt.id, pt.page_id, pt.confidence, tp.prevalence, rel.weight,
           CASE WHEN r.id IS NULL THEN NULL ELSE rt.review_id IS NOT NULL END
      FROM {pagetag} pt
      LEFT JOIN {review} r ON r.page_id = pt.page_id AND NOT r.quarantined
      LEFT JOIN {review_tags} rt ON rt.review_id = r.id AND rt.tag_id = pt.tag_id
      LEFT JOIN {reliability} rel ON rel.user_id = r.reviewer_id AND rel.tag_id = pt.tag_id
      LEFT JOIN {tagprevalence} tp ON tp.tag_id = pt.tag_id
     WHERE pt.page_id = ANY(%(pages)s)""",
    **TABLES,
)


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
        cursor.execute(compose("SELECT DISTINCT page_id FROM {pagetag} ORDER BY page_id", **TABLES))
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
            compose(
                "SELECT r.page_id, r.reviewer_id, coalesce(array_agg(rt.tag_id) FILTER (WHERE rt.tag_id IS NOT NULL),"
                " '{{}}') FROM {review} r LEFT JOIN {review_tags} rt ON rt.review_id = r.id"
                " JOIN {page} p ON p.id = r.page_id LEFT JOIN {reviewer} rv ON rv.user_id = r.reviewer_id"
                " WHERE NOT r.quarantined OR (p.known_answer AND rv.quarantined_at IS NULL)"
                " GROUP BY r.id ORDER BY r.page_id, r.id",
                **TABLES,
            )
        )
        for page_id, user_id, tag_ids in cursor:
            yield TrainingVote(page_id=page_id, user_id=user_id, tag_ids=frozenset(tag_ids))


def gold_answers() -> dict[int, frozenset[int]]:
    """page id -> the tag ids editors say are correct."""
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                "SELECT g.page_id, coalesce(array_agg(gt.tag_id) FILTER (WHERE gt.tag_id IS NOT NULL), '{{}}')"
                " FROM {goldanswer} g LEFT JOIN {goldanswer_tags} gt ON gt.goldanswer_id = g.id"
                " GROUP BY g.page_id",
                **TABLES,
            )
        )
        return {page_id: frozenset(tags) for page_id, tags in cursor.fetchall()}


# --- Every tag of a page (retirement needs the tags nobody applied too) ------------------------


def page_tag_confidences(page_ids: Iterable[int]) -> dict[int, dict[int, float]]:
    """page id -> active tag id -> confidence, for every active tag (a tag nobody applied is a
    row of "no" votes). Three queries whatever the number of pages: votes, weights, priors."""
    page_ids = sorted({int(p) for p in page_ids})
    with connection.cursor() as cursor:
        cursor.execute(compose('SELECT id FROM {tag} WHERE active ORDER BY "order", id', **TABLES))
        tag_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            compose(
                "SELECT r.page_id, r.reviewer_id, coalesce(array_agg(rt.tag_id) FILTER (WHERE rt.tag_id IS NOT NULL),"
                " '{{}}') FROM {review} r LEFT JOIN {review_tags} rt ON rt.review_id = r.id"
                " WHERE r.page_id = ANY(%(pages)s) AND NOT r.quarantined GROUP BY r.id",
                **TABLES,
            ),
            {"pages": page_ids},
        )
        votes = cursor.fetchall()
        users = sorted({user for _, user, _ in votes})
        cursor.execute(
            compose(
                "SELECT user_id, tag_id, weight FROM {reliability} WHERE user_id = ANY(%(users)s)", **TABLES
            ),
            {"users": users},
        )
        weights = {(u, t): w for u, t, w in cursor.fetchall()}
        cursor.execute(compose("SELECT tag_id, prevalence FROM {tagprevalence}", **TABLES))
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


def tagged_pages(page_ids: Iterable[int]) -> set[int]:
    """The pages among these that some counted review gave an active tag. One query."""
    return set(
        Review.objects.filter(page_id__in=list(page_ids), quarantined=False, tags__active=True)
        .values_list("page_id", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class RetiringAssignment:
    id: int
    threshold: int
    confidence_target: float
    min_reviews: int


def retiring_assignments_of_pages(page_ids: Iterable[int]) -> dict[int, tuple[int, list[RetiringAssignment]]]:
    """page id -> (its counted review count, the active assignments containing it that retire
    pages when confident and still count it as to do). One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                """SELECT p.id, p.review_count, a.id, a.threshold, a.confidence_target, a.min_reviews
                  FROM {page} p
                  JOIN {assignment} a ON a.active AND a.retire_when_confident
                   AND a.id IN ({containing})
                 WHERE p.id = ANY(%(pages)s) AND p.withdrawn_at IS NULL
                   AND p.review_count < a.threshold AND NOT {retired}""",
                containing=sql.SQL(scope.assignments_of_document_sql("p.document_id")),
                retired=sql.SQL(scope.retired_sql("a.id", "p.id")),
                **TABLES,
            ),
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
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                """SELECT DISTINCT p.id FROM ({assignment_pages}) x
                  JOIN {assignment} a ON a.id = x.assignment_id AND a.active AND a.retire_when_confident
                  JOIN {page} p ON p.id = x.page_id
                 WHERE p.review_count >= a.min_reviews AND p.review_count < a.threshold
                   AND NOT {retired} ORDER BY p.id""",
                assignment_pages=sql.SQL(scope.assignment_pages_sql()),
                retired=sql.SQL(scope.retired_sql("a.id", "p.id")),
                **TABLES,
            )
        )
        return [row[0] for row in cursor.fetchall()]


# --- What reviewers and staff see of reliability ------------------------------------------------

# Per reviewer: their reviews of gold pages, and how many gave exactly the editors' tag set.
_GOLD_AGREEMENT_SQL = """
    SELECT r.reviewer_id, count(*),
           count(*) FILTER (WHERE
             coalesce((SELECT array_agg(rt.tag_id ORDER BY rt.tag_id) FROM {review_tags} rt
                        WHERE rt.review_id = r.id), '{{}}')
             = coalesce((SELECT array_agg(gt.tag_id ORDER BY gt.tag_id) FROM {goldanswer_tags} gt
                          WHERE gt.goldanswer_id = g.id), '{{}}'))
      FROM {review} r JOIN {goldanswer} g ON g.page_id = r.page_id
     WHERE {users} GROUP BY r.reviewer_id"""


@dataclass(frozen=True)
class GoldAgreement:
    agreed: int
    total: int


def gold_agreement(user_ids: Iterable[int] | None) -> dict[int, GoldAgreement]:
    """user id -> on how many known-answer pages they gave exactly the editors' tags, of how many
    (every reviewer of a gold page when ``user_ids`` is None)."""
    users = None if user_ids is None else sorted({int(u) for u in user_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                _GOLD_AGREEMENT_SQL,
                users=sql.SQL("true" if users is None else "r.reviewer_id = ANY(%(users)s)"),
                **TABLES,
            ),
            {"users": users},
        )
        return {u: GoldAgreement(agreed=a, total=t) for u, t, a in cursor.fetchall()}


@dataclass(frozen=True)
class LowReliability:
    user_id: int
    username: str
    accuracy: float
    weight: float
    votes: int
    gold: GoldAgreement | None

    @property
    def user_ids(self) -> list[int]:
        return [self.user_id]

    @property
    def reason(self) -> str:
        text = f"estimated accuracy {self.accuracy:.0%} over {self.votes} tag decisions (weight {self.weight:.2f})"
        if self.gold is not None:
            text += f"; agreed with the editors on {self.gold.agreed} of {self.gold.total} known pages"
        return text


LOW_WEIGHT = 0.25  # below this a reviewer's vote moves a page's odds by less than 30%
LOW_MIN_VOTES = 20
# Or: at least this many known pages, and the editors' exact tag set on fewer than half. (A mean
# weight over tags is flattered by tags a spammer never clicks and that rarely apply.)
LOW_MIN_GOLD = 5
LOW_GOLD_SHARE = 0.5


def low_reliability(*, limit: int = 50) -> list[LowReliability]:
    """Reviewers the model barely trusts, least trusted first, not quarantined, not staff: a mean
    weight over tags below ``LOW_WEIGHT`` from at least ``LOW_MIN_VOTES`` tag decisions, or the
    editors' answer on fewer than ``LOW_GOLD_SHARE`` of at least ``LOW_MIN_GOLD`` known pages."""
    gold = {u: g for u, g in gold_agreement(None).items() if g.total >= LOW_MIN_GOLD}
    poor_gold = [u for u, g in gold.items() if g.agreed < LOW_GOLD_SHARE * g.total]
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                """SELECT rel.user_id, u.username, avg(rel.accuracy), avg(rel.weight),
                      sum(rel.votes + rel.gold_total)
                 FROM {reliability} rel JOIN auth_user u ON u.id = rel.user_id
                 LEFT JOIN {reviewer} rv ON rv.user_id = rel.user_id
                WHERE rv.quarantined_at IS NULL AND NOT u.is_staff
                GROUP BY rel.user_id, u.username
               HAVING (avg(rel.weight) < %(low)s AND sum(rel.votes + rel.gold_total) >= %(min)s)
                   OR rel.user_id = ANY(%(poor)s)
                ORDER BY avg(rel.weight), rel.user_id LIMIT %(limit)s""",
                **TABLES,
            ),
            {"low": LOW_WEIGHT, "min": LOW_MIN_VOTES, "poor": poor_gold, "limit": limit},
        )
        rows = cursor.fetchall()
    return [
        LowReliability(user_id=u, username=name, accuracy=acc, weight=w, votes=int(n), gold=gold.get(u))
        for u, name, acc, w, n in rows
    ]


def profile_context(request, user, context: dict) -> dict:
    """``PROFILE_CONTEXT_HOOKS``: a reviewer's own agreement with the editors on known pages, for
    their profile (shown to them only: it is their own feedback, not a public score)."""
    viewer = getattr(request, "user", None)
    if viewer is None or not viewer.is_authenticated or viewer.pk != user.pk:
        return {}
    return {"gold_agreement": gold_agreement([user.pk]).get(user.pk)}
