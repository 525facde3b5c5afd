"""Writes of the consensus app: confidence rows, the model's re-estimation, gold answers.

Every write of ``reviews_pagetag.confidence``, ``consensus_reliability`` and
``consensus_tagprevalence`` is here. Confidence is a copy (registry entry
``page-tag-confidence``): it is written after the review it follows has committed, from
Postgres, never from what a request believes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from consensus import model, selectors
from consensus.models import EstimationRun
from reviews.models import Tag

_SET_CONFIDENCE_SQL = (
    "UPDATE reviews_pagetag pt SET confidence = v.c"
    " FROM unnest(%(ids)s::bigint[], %(values)s::float8[]) AS v(id, c)"
    " WHERE pt.id = v.id AND pt.confidence IS DISTINCT FROM v.c"
)


def refresh_confidence(page_ids: Iterable[int]) -> int:
    """Re-derive the confidence of every PageTag row of these pages; returns how many changed.

    Two round trips per chunk of pages: the votes, then one UPDATE of the rows that differ."""
    changed = [c for c in selectors.pagetag_confidences(page_ids) if c.stored != c.want]
    _write(changed)
    return len(changed)


def _write(rows: list[selectors.Confidence]) -> None:
    for start in range(0, len(rows), selectors.CHUNK):
        chunk = rows[start : start + selectors.CHUNK]
        with connection.cursor() as cursor:
            cursor.execute(
                _SET_CONFIDENCE_SQL, {"ids": [c.row_id for c in chunk], "values": [c.want for c in chunk]}
            )


def refresh_all_confidence() -> int:
    """Every row re-derived (the registry's rebuild and the end of a re-estimation)."""
    return sum(refresh_confidence(chunk) for chunk in selectors.all_page_ids_with_tags())


_UPSERT_RELIABILITY_SQL = """
    INSERT INTO consensus_reliability
      (user_id, tag_id, accuracy, weight, gold_correct, gold_total, expected_correct, votes, updated)
    SELECT * FROM unnest(%(users)s::int[], %(tags)s::bigint[], %(accuracy)s::float8[], %(weight)s::float8[],
                         %(gold_correct)s::int[], %(gold_total)s::int[], %(expected)s::float8[],
                         %(votes)s::int[], %(updated)s::timestamptz[])
    ON CONFLICT (user_id, tag_id) DO UPDATE SET accuracy = excluded.accuracy, weight = excluded.weight,
      gold_correct = excluded.gold_correct, gold_total = excluded.gold_total,
      expected_correct = excluded.expected_correct, votes = excluded.votes, updated = excluded.updated"""

_UPSERT_PREVALENCE_SQL = """
    INSERT INTO consensus_tagprevalence (tag_id, prevalence, updated)
    SELECT * FROM unnest(%(tags)s::bigint[], %(prevalence)s::float8[], %(updated)s::timestamptz[])
    ON CONFLICT (tag_id) DO UPDATE SET prevalence = excluded.prevalence, updated = excluded.updated"""


def reestimate() -> EstimationRun:
    """The full re-estimation (``consensus.tasks.reestimate``, on a schedule): every reviewer's
    reliability per tag and every tag's prevalence by EM over all counted reviews and the gold
    answers, then every confidence re-derived from them.

    The model is fitted outside any transaction (it only reads), then its parameters are
    written in one: a reader sees the old set or the new one, never half of each."""
    started = timezone.now()
    clock = time.perf_counter()
    tag_ids = list(Tag.objects.values_list("pk", flat=True))
    gold = selectors.gold_answers()
    votes: dict[int, list[model.Vote]] = {t: [] for t in tag_ids}
    reviews = 0
    for vote in selectors.training_votes():
        reviews += 1
        for tag_id in tag_ids:
            votes[tag_id].append(
                model.Vote(item=vote.page_id, worker=vote.user_id, value=tag_id in vote.tag_ids)
            )
    estimates = {
        tag_id: model.estimate(votes[tag_id], gold={p: tag_id in tags for p, tags in gold.items()})
        for tag_id in tag_ids
    }
    reviewers: set[int] = set()
    rows: dict[str, list] = {
        k: []
        for k in ("users", "tags", "accuracy", "weight", "gold_correct", "gold_total", "expected", "votes")
    }
    for tag_id, est in estimates.items():
        for user_id, skill in est.skills.items():
            reviewers.add(user_id)
            rows["users"].append(user_id)
            rows["tags"].append(tag_id)
            rows["accuracy"].append(skill.accuracy)
            rows["weight"].append(skill.weight)
            rows["gold_correct"].append(skill.gold_correct)
            rows["gold_total"].append(skill.gold_total)
            rows["expected"].append(skill.expected_correct)
            rows["votes"].append(skill.votes)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows["users"]), selectors.CHUNK):
            part = {k: v[start : start + selectors.CHUNK] for k, v in rows.items()}
            cursor.execute(_UPSERT_RELIABILITY_SQL, {**part, "updated": [now] * len(part["users"])})
        # Reviewers the model no longer sees (all their reviews deleted or quarantined).
        cursor.execute("DELETE FROM consensus_reliability WHERE updated < %s", [now])
        cursor.execute(
            _UPSERT_PREVALENCE_SQL,
            {
                "tags": list(estimates),
                "prevalence": [e.prevalence for e in estimates.values()],
                "updated": [now] * len(estimates),
            },
        )
    refresh_all_confidence()
    # New weights may make the crowd sure of pages it was not sure of.
    pages = selectors.retiring_todo_pages()
    for start in range(0, len(pages), selectors.CHUNK):
        retire_confident_pages(pages[start : start + selectors.CHUNK])
    return EstimationRun.objects.create(
        started=started,
        seconds=time.perf_counter() - clock,
        reviews=reviews,
        reviewers=len(reviewers),
        tags=len(tag_ids),
    )


# --- Retiring pages when the crowd is sure ----------------------------------------------------


def confident(confidences: Iterable[float], *, target: float) -> bool:
    """Every tag's confidence above ``target`` or below one minus it."""
    return all(c >= target or c <= 1.0 - target for c in confidences)


def retire_confident_pages(page_ids: Iterable[int]) -> dict[int, list[int]]:
    """Retire each of these pages from every assignment with ``retire_when_confident`` that
    still counts it as to do, when it has at least ``min_reviews`` reviews and the crowd is
    confident about every active tag. Returns assignment id -> pages retired.

    Called after each review (its page) and after each re-estimation (every such page). The
    fact is stored in the assignments layer (``assignments.actions.retire_pages``), which every
    reader of "to do" follows."""
    from assignments.actions import retire_pages

    candidates = selectors.retiring_assignments_of_pages(page_ids)
    if not candidates:
        return {}
    confidences = selectors.page_tag_confidences(candidates)
    chosen: dict[int, list[int]] = {}
    for page_id, (count, assignments) in candidates.items():
        for a in assignments:
            if count >= a.min_reviews and confident(
                confidences[page_id].values(), target=a.confidence_target
            ):
                chosen.setdefault(a.id, []).append(page_id)
    return {aid: retire_pages(assignment_id=aid, page_ids=pages) for aid, pages in chosen.items()}
