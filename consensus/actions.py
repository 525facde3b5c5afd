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
from psycopg import sql

from assignments.actions import retire_pages
from assignments.denormalisations.contexts import page_states
from catalogue.models import Page, Tag
from consensus import model, selectors
from consensus.models import EstimationRun, GoldAnswer, PublicRow, Reliability, TagPrevalence
from denorm.changes import changed
from lib import keys
from lib.redis_client import get_redis
from lib.sql_names import compose
from reviews.denormalisations import copy_quarantine
from reviews.models import PageTag

TABLES = {
    "page": Page,
    "pagetag": PageTag,
    "tag": Tag,
    "publicrow": PublicRow,
    "reliability": Reliability,
    "tagprevalence": TagPrevalence,
}

_SET_CONFIDENCE_SQL = compose(
    "UPDATE {pagetag} pt SET confidence = v.c"
    " FROM unnest(%(ids)s::bigint[], %(values)s::float8[]) AS v(id, c)"
    " WHERE pt.id = v.id AND pt.confidence IS DISTINCT FROM v.c",
    **TABLES,
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


_UPSERT_RELIABILITY_SQL = compose(
    """
    INSERT INTO {reliability}
      (user_id, tag_id, accuracy, weight, gold_correct, gold_total, expected_correct, votes, updated)
    SELECT * FROM unnest(%(users)s::int[], %(tags)s::bigint[], %(accuracy)s::float8[], %(weight)s::float8[],
                         %(gold_correct)s::int[], %(gold_total)s::int[], %(expected)s::float8[],
                         %(votes)s::int[], %(updated)s::timestamptz[])
    ON CONFLICT (user_id, tag_id) DO UPDATE SET accuracy = excluded.accuracy, weight = excluded.weight,
      gold_correct = excluded.gold_correct, gold_total = excluded.gold_total,
      expected_correct = excluded.expected_correct, votes = excluded.votes, updated = excluded.updated""",
    **TABLES,
)

_UPSERT_PREVALENCE_SQL = compose(
    """
    INSERT INTO {tagprevalence} (tag_id, prevalence, updated)
    SELECT * FROM unnest(%(tags)s::bigint[], %(prevalence)s::float8[], %(updated)s::timestamptz[])
    ON CONFLICT (tag_id) DO UPDATE SET prevalence = excluded.prevalence, updated = excluded.updated""",
    **TABLES,
)


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
    reviewers: set = set()  # the estimates' keys: user ids
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
        cursor.execute(compose("DELETE FROM {reliability} WHERE updated < %s", **TABLES), [now])
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
    sync_all_public_rows()  # every confidence that moved, every page now public, is a change
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


def may_retire(
    confidences: Iterable[float], *, reviews: int, target: float, min_reviews: int, tagged: bool = True
) -> bool:
    """Whether a page with ``reviews`` reviews and these confidences (one per active tag) leaves
    an assignment that retires at ``target`` after at least ``min_reviews``.

    A page with a single review leaves only when that review applied no tag and every tag is
    below one minus the target. A tag a lone reviewer applied always gets a second look:
    retiring the page then would publish an unconfirmed tag or drop a reviewer's flag unread, and
    a confidence resting on one reviewer's learned weight is the least safe there is. On the
    consensus bench (target 0.9, at least 1, ceiling 4) without this rule, the 36 pages that left
    on one careful reviewer's "investigate-this" were 88% right against 97% for the 683 that left
    on one careful "nothing here", and 67 pages left on one sloppy reviewer's or spammer's
    review; the run saved 29.1% of threshold 3's reviews at 0.0024 less accuracy. With it: 26.2%
    saved, 0.0045 more accurate (both runs before the bench's re-fit fix of 2026-12-07). With weights known exactly no tagged page would have left
    after one review at these targets anyway.
    """
    if reviews < min_reviews or reviews < 1:
        return False
    confidences = list(confidences)
    if reviews == 1:
        return not tagged and all(c <= 1.0 - target for c in confidences)
    return confident(confidences, target=target)


def retire_confident_pages(page_ids: Iterable[int]) -> dict[int, list[int]]:
    """Retire each of these pages from every assignment with ``retire_when_confident`` that
    still counts it as to do, when it has at least ``min_reviews`` reviews and the crowd is
    confident about every active tag. Returns assignment id -> pages retired.

    Called after each review (its page) and after each re-estimation (every such page). The
    fact is stored in the assignments layer (``assignments.actions.retire_pages``), which every
    reader of "to do" follows."""
    candidates = selectors.retiring_assignments_of_pages(page_ids)
    if not candidates:
        return {}
    confidences = selectors.page_tag_confidences(candidates)
    # Whether a review applied a tag matters only to a page that may leave after one review.
    lone = [
        p for p, (count, found) in candidates.items() if count == 1 and any(a.min_reviews <= 1 for a in found)
    ]
    tagged = selectors.tagged_pages(lone) if lone else set()
    chosen: dict[int, list[int]] = {}
    for page_id, (count, assignments) in candidates.items():
        for a in assignments:
            if may_retire(
                confidences[page_id].values(),
                reviews=count,
                target=a.confidence_target,
                min_reviews=a.min_reviews,
                tagged=page_id in tagged,
            ):
                chosen.setdefault(a.id, []).append(page_id)
    return {aid: retire_pages(assignment_id=aid, page_ids=pages) for aid, pages in chosen.items()}


# --- Gold answers -----------------------------------------------------------------------------


class GoldError(ValueError):
    """Bad input for a gold answer: the message is safe to show to an editor."""


@transaction.atomic
def set_gold_answer(*, page_id: int, tag_ids: Iterable[int], by=None, note: str = "") -> GoldAnswer:
    """Mark a page as known-answer with the tags editors say are correct (none: "nothing of
    note"), recording who; replaces an earlier answer for the page.

    From the commit on, the page counts for nothing anywhere (its reviews, earlier ones too, are
    flagged like a quarantined reviewer's: ``Page.known_answer`` and ``Review.quarantined``) and
    it leaves every assignment's scope; the picker mixes it in at the gold rate
    (``consensus.gold``). The page row is locked first, as ``submit_review`` locks it."""
    tag_ids = sorted({int(t) for t in tag_ids})
    page = Page.objects.select_for_update().filter(pk=page_id).first()
    if page is None:
        raise GoldError("That page does not exist.")
    if Tag.objects.filter(pk__in=tag_ids).count() != len(tag_ids):
        raise GoldError("Unknown tag.")
    gold, _ = GoldAnswer.objects.get_or_create(page_id=page_id, defaults={"created_by": by, "note": note})
    if gold.created_by_id != (by.pk if by else None) or gold.note != note:
        gold.created_by, gold.note = by, note
        gold.save(update_fields=["created_by", "note"])
    gold.tags.set(tag_ids)
    if not page.known_answer:
        _mark_known_answer([page_id], True)
    return gold


@transaction.atomic
def remove_gold_answer(*, page_id: int) -> bool:
    """The page is an ordinary page again: its reviews count, it is back in its assignments."""
    page = Page.objects.select_for_update().filter(pk=page_id).first()
    if page is None:
        return False
    deleted, _ = GoldAnswer.objects.filter(page_id=page_id).delete()
    if page.known_answer:
        _mark_known_answer([page_id], False)
    return bool(deleted)


def _mark_known_answer(page_ids: list[int], known: bool) -> None:
    """Write ``Page.known_answer`` (registry entry ``page-known-answer``) and what follows from it
    in this transaction: the reviews' counts-for-nothing flag; every copy of the pages (counts,
    tags, the assignments' sets and progress) is re-derived after commit."""
    before = {p: ctx for p, (ctx, _) in page_states(page_ids).items()}
    with connection.cursor() as cursor:
        cursor.execute(
            compose("UPDATE {page} SET known_answer = %(known)s WHERE id = ANY(%(pages)s)", **TABLES),
            {"known": known, "pages": page_ids},
        )
    copy_quarantine(None, page_ids=page_ids)
    changed(pages=before)


# --- After reviews ---------------------------------------------------------------------------

REFRESH_BATCH = 1000


def refresh_reviewed_pages(*, batch: int = REFRESH_BATCH) -> int:
    """Drain the queue of reviewed pages (``lib.keys.consensus_reviewed_pages``): re-derive their
    confidence and retire those the crowd is now sure of. Returns how many pages were taken.

    SPOP takes each page once however many processes drain at once; a page popped by a run that
    then fails is repaired by the periodic check (confidence) and the next re-estimation's
    sweep (retirement)."""
    taken = 0
    client = get_redis()
    while True:
        pages = sorted(int(p) for p in client.spop(keys.consensus_reviewed_pages(), batch) or [])
        if not pages:
            return taken
        taken += len(pages)
        refresh_confidence(pages)
        retire_confident_pages(pages)
        sync_public_rows(pages)  # new counts and confidences take their place in the sequence


# --- The change sequence of public rows (incremental exports) --------------------------------

# What the public export gives for each page+tag of these pages (results.selectors.visible_pagetags
# for the public: a count, an active tag, listed), beside what the sequence last recorded.
_PUBLIC_WANT_SQL = compose(
    """
    SELECT pt.page_id, pt.tag_id, t.slug, pt.count, p.review_count, pt.confidence, pt.first_tagged_at
      FROM {pagetag} pt JOIN {tag} t ON t.id = pt.tag_id JOIN {page} p ON p.id = pt.page_id
     WHERE pt.page_id = ANY(%(pages)s) AND pt.count > 0 AND t.active AND pt.listed_at IS NOT NULL""",
    **TABLES,
)
_PUBLIC_HAVE_SQL = compose(
    """
    SELECT id, page_id, tag_id, tag, count, reviews, confidence, first_tagged_at
      FROM {publicrow} WHERE page_id = ANY(%(pages)s) AND public""",
    **TABLES,
)
_PUBLIC_UPSERT_SQL = compose(
    """
    INSERT INTO {publicrow}
      (page_id, tag_id, tag, count, reviews, confidence, first_tagged_at, public, seq, changed_at)
    SELECT v.page_id, v.tag_id, v.tag, v.count, v.reviews, v.confidence, v.first_tagged_at, true,
           nextval('consensus_publicrow_seq'), now()
      FROM unnest(%(pages)s::bigint[], %(tags)s::bigint[], %(slugs)s::text[], %(counts)s::int[],
                  %(reviews)s::int[], %(confidences)s::float8[], %(firsts)s::timestamptz[])
           AS v(page_id, tag_id, tag, count, reviews, confidence, first_tagged_at)
     ORDER BY v.page_id, v.tag_id
    ON CONFLICT (page_id, tag_id) DO UPDATE SET tag = excluded.tag, count = excluded.count,
      reviews = excluded.reviews, confidence = excluded.confidence, first_tagged_at = excluded.first_tagged_at,
      public = true, seq = excluded.seq, changed_at = excluded.changed_at""",
    **TABLES,
)
_PUBLIC_TOMBSTONE_SQL = compose(
    """
    UPDATE {publicrow} SET public = false, seq = nextval('consensus_publicrow_seq'), changed_at = now()
     WHERE id = ANY(%(ids)s)""",
    **TABLES,
)
# One writer at a time, from its first nextval to its commit: seqs become visible in order.
# The key is the table's name, as a value.
_PUBLIC_LOCK_SQL = compose(
    "SELECT pg_advisory_xact_lock(hashtext({key}))", key=sql.Literal(PublicRow._meta.db_table)
)


def public_row_differences(page_ids: list[int]) -> tuple[list[tuple], list[int]]:
    """(rows to (re)send, ids of recorded rows that left) for these pages: what the sequence lacks."""
    with connection.cursor() as cursor:
        cursor.execute(_PUBLIC_WANT_SQL, {"pages": page_ids})
        want = {(row[0], row[1]): row for row in cursor.fetchall()}
        cursor.execute(_PUBLIC_HAVE_SQL, {"pages": page_ids})
        have = {(row[1], row[2]): row for row in cursor.fetchall()}
    send = [row for key, row in want.items() if key not in have or have[key][3:] != row[2:]]
    gone = [row[0] for key, row in have.items() if key not in want]
    return send, gone


def sync_public_rows(page_ids: Iterable[int]) -> tuple[int, int]:
    """Give every change of these pages' public rows its place in the change sequence: rows new
    or changed are (re)recorded with the next seq, rows that left get a tombstone with the next
    seq. Returns (sent, tombstoned). Chunks of pages, each one transaction under the lock."""
    page_ids = sorted({int(p) for p in page_ids})
    sent = gone_total = 0
    for start in range(0, len(page_ids), selectors.CHUNK):
        chunk = page_ids[start : start + selectors.CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PUBLIC_LOCK_SQL)
            send, gone = public_row_differences(chunk)
            if send:
                cursor.execute(
                    _PUBLIC_UPSERT_SQL,
                    {
                        "pages": [r[0] for r in send],
                        "tags": [r[1] for r in send],
                        "slugs": [r[2] for r in send],
                        "counts": [r[3] for r in send],
                        "reviews": [r[4] for r in send],
                        "confidences": [r[5] for r in send],
                        "firsts": [r[6] for r in send],
                    },
                )
            if gone:
                cursor.execute(_PUBLIC_TOMBSTONE_SQL, {"ids": gone})
        sent += len(send)
        gone_total += len(gone)
    return sent, gone_total


def all_public_row_pages() -> list[int]:
    """Every page that has or had a public row."""
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                "SELECT page_id FROM {pagetag} UNION SELECT page_id FROM {publicrow} WHERE public", **TABLES
            )
        )
        return sorted(row[0] for row in cursor.fetchall())


def sync_all_public_rows() -> tuple[int, int]:
    return sync_public_rows(all_public_row_pages())
