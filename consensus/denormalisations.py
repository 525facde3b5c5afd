"""The consensus app's copy: ``reviews_pagetag.confidence`` (registry entry
``page-tag-confidence``).

Derived from the page's counted reviews and the model's parameters (``consensus_reliability``,
``consensus_tagprevalence``, written by the scheduled re-estimation). Kept current after commit:

- a review (``catalogue.signals.review_recorded``): its page joins a Redis queue (no query on the
  review's hot path), drained every few seconds by ``consensus.tasks.refresh_reviewed_pages``
  (the page's rows re-derived, and the page retired where the crowd is now sure);
- anything else that changes a page's counted reviews (quarantine and release, deletes, a
  recount of ``reviews_pagetag``, which may recreate rows with no confidence) through
  ``denorm.changed``: the pages named are re-derived, after the page-tag counts (order);
- a re-estimation (``consensus.tasks.reestimate``): every row.

The check recomputes every row from Postgres and compares; the repair writes only rows that
differ.
"""

from __future__ import annotations

import logging

import redis
from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import receiver

from catalogue import signals
from catalogue.models import Page
from consensus import actions, selectors
from consensus.models import GoldAnswer
from denorm.changes import Changes
from denorm.operations import mark_stale
from denorm.registry import Denormalisation, Drift, register
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.sql_names import compose

TABLES = {
    "page": Page,
    "goldanswer": GoldAnswer,
}

log = logging.getLogger("crowd.denormalisation")

NAME = "page-tag-confidence"


def refresh_page_tag_confidence(changes: Changes) -> None:
    if changes.pages:
        actions.refresh_confidence(changes.pages)


def _queued_pages() -> set[int]:
    """Pages reviewed and waiting for the refresh task: their rows lag by design."""
    try:
        return {int(p) for p in get_redis().smembers(keys.consensus_reviewed_pages())}
    except redis.RedisError:
        return set()


def _drift(*, repair: bool) -> Drift:
    drift = Drift()
    queued = _queued_pages()  # read before Postgres: a page queued later is newer than this check
    for chunk in selectors.all_page_ids_with_tags():
        differ = [c for c in selectors.pagetag_confidences(chunk) if c.stored != c.want]
        for c in differ:
            if c.page_id in queued:
                drift.lagging += 1
            elif c.stored is None:
                drift.missing += 1
            else:
                drift.wrong += 1
            drift.add_example(f"pagetag {c.row_id}: confidence {c.stored}, should be {c.want}")
        if repair and differ:
            actions._write(differ)
    return drift


def check_page_tag_confidence() -> Drift:
    return _drift(repair=False)


def repair_page_tag_confidence() -> Drift:
    return _drift(repair=True)


def rebuild_page_tag_confidence() -> None:
    actions.refresh_all_confidence()


register(
    Denormalisation(
        name=NAME,
        description="Per page and tag: the posterior probability that the tag applies, from the "
        "page's counted reviews weighted by each reviewer's reliability for the tag, with the "
        "tag's prevalence as prior odds (one-coin model, `consensus.model`). Shown beside count, "
        "reviews and agreement on pages, listings, exports and the API; `?min_confidence=` and "
        "`?order=confidence` read it.",
        derived_from="`reviews_review` (quarantined reviews left out) with `reviews_review_tags`, "
        "`consensus_reliability.weight` and `consensus_tagprevalence.prevalence`",
        lives_in="`reviews_pagetag.confidence` (rounded to 6 places)",
        kept_current_by="after commit: `catalogue.signals.review_recorded` queues the page (Redis set "
        "`crowd:v1:{consensus}:reviewed-pages`), drained every `CONSENSUS_REFRESH_SECONDS` by "
        "`consensus.tasks.refresh_reviewed_pages` (the page's rows); "
        "`denorm.changed` for pages (quarantine, release, deletes, page-tag recounts); "
        "`consensus.tasks.reestimate` on a schedule (`CONSENSUS_REESTIMATE_SECONDS`: every row, "
        "after re-fitting reliability and prevalence).",
        rebuild=rebuild_page_tag_confidence,
        check=check_page_tag_confidence,
        repair=repair_page_tag_confidence,
        refresh=refresh_page_tag_confidence,
        # After the page-tag counts (11), whose recount may recreate rows.
        order=40,
        # A reviewed page waits for the refresh task (seconds): its rows lag by design, and the
        # check reports them as lagging while the page is queued.
        kept_current_on_commit=False,
        lag_seconds=60,
        repaired_by="the `consensus-refresh-reviewed-pages` beat task (every "
        "`CONSENSUS_REFRESH_SECONDS`) and the periodic check",
    )
)


@receiver(signals.review_recorded, dispatch_uid="consensus-review")
def _on_review(sender, *, page_id, **kwargs):
    # The review's hot path asks Postgres nothing after commit: the page joins the queue of
    # pages to re-derive (sent with the other receivers' Redis writes, one round trip), which
    # the beat task ``consensus.tasks.refresh_reviewed_pages`` drains within seconds. Redis
    # down: the periodic check repairs the confidence and the next re-estimation's sweep
    # retires what is sure.
    def fill(pipe) -> None:
        pipe.sadd(keys.consensus_reviewed_pages(), page_id)

    redis_batch.queue(fill, _not_queued)


def _not_queued(exc: Exception) -> None:
    warn_throttled(
        log, "consensus-queue", "confidence refresh not queued, Redis unavailable (flagged stale): %r", exc
    )
    mark_stale([NAME], repr(exc)[:200])


# --- reviews_page.known_answer: a copy of "editors gave this page a gold answer" --------------

_KNOWN_ANSWER_DRIFT_SQL = compose(
    """
    SELECT p.id, p.known_answer FROM {page} p
     WHERE p.known_answer <> EXISTS (SELECT 1 FROM {goldanswer} g WHERE g.page_id = p.id)
     ORDER BY p.id""",
    **TABLES,
)


def _known_answer_drift() -> tuple[Drift, dict[bool, list[int]]]:
    drift = Drift()
    flip: dict[bool, list[int]] = {True: [], False: []}
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN_ANSWER_DRIFT_SQL)
        for page_id, stored in cursor.fetchall():
            drift.wrong += 1
            drift.add_example(f"page {page_id}: known_answer {stored}, should be {not stored}")
            flip[not stored].append(page_id)
    return drift, flip


def check_page_known_answer() -> Drift:
    return _known_answer_drift()[0]


def repair_page_known_answer() -> Drift:
    drift, flip = _known_answer_drift()
    for known, pages in flip.items():
        if pages:
            with transaction.atomic():
                actions._mark_known_answer(pages, known)
    return drift


def rebuild_page_known_answer() -> None:
    repair_page_known_answer()


register(
    Denormalisation(
        name="page-known-answer",
        description="Whether editors gave the page a gold (known) answer. Such a page is in no "
        "assignment's scope (the picker mixes it in at the gold rate) and its reviews count for "
        "nothing (`review-quarantined` copies the flag onto them): they only train reviewers' "
        "reliability.",
        derived_from="the existence of a `consensus_goldanswer` row for the page",
        lives_in="`reviews_page.known_answer`",
        kept_current_by="`consensus.actions.set_gold_answer` and `remove_gold_answer` (in their "
        "transaction, the page row locked, with the reviews' flag; every copy of the page is "
        "re-derived after commit)",
        rebuild=rebuild_page_known_answer,
        check=check_page_known_answer,
        repair=repair_page_known_answer,
        # Before the reviews' flag (5), which reads it.
        order=4,
    )
)


# --- consensus_publicrow: the change sequence of the public export ---------------------------


def _pages_of(changes: Changes) -> set[int] | None:
    """Every page whose public rows a change may have moved: the pages named, and all pages of
    the documents, members and parties named. None (every row) for an assignment change: the
    public threshold of any of its pages, before or after, may have moved, and the pages that
    left it are no longer known (as ``page-tag-listed-at`` does; an editor's rare decision)."""
    from catalogue.models import Page

    if changes.assignments:
        return None
    pages = set(changes.pages)
    if changes.documents or changes.members or changes.parties:
        pages |= set(
            Page.objects.filter(
                Q(document_id__in=list(changes.documents))
                | Q(document__member_id__in=list(changes.members))
                | Q(document__member__party_id__in=list(changes.parties))
            ).values_list("pk", flat=True)
        )
    return pages


def refresh_public_rows(changes: Changes) -> None:
    pages = _pages_of(changes)
    if pages is None:
        actions.sync_all_public_rows()
    elif pages:
        actions.sync_public_rows(pages)


def _public_drift(*, repair: bool) -> Drift:
    drift = Drift()
    queued = _queued_pages()  # reviewed pages waiting for the refresh task lag by design
    pages = actions.all_public_row_pages()
    to_sync = []
    for start in range(0, len(pages), selectors.CHUNK):
        chunk = pages[start : start + selectors.CHUNK]
        send, gone = actions.public_row_differences(chunk)
        for row in send:
            if row[0] in queued:
                drift.lagging += 1
                continue
            drift.wrong += 1
            drift.add_example(f"page {row[0]} tag {row[2]}: changed without a place in the sequence")
            to_sync.append(row[0])
        if gone:
            drift.extra += len(gone)
            drift.add_example(f"{len(gone)} rows left the export without a tombstone")
            to_sync += chunk  # cheap enough: the chunk is compared again under the lock
    if repair and to_sync:
        actions.sync_public_rows(to_sync)
    return drift


def check_public_rows() -> Drift:
    return _public_drift(repair=False)


def repair_public_rows() -> Drift:
    return _public_drift(repair=True)


def rebuild_public_rows() -> None:
    # Never wiped: a reader's cursor must still find every change after it. A rebuild gives a
    # place to whatever differs.
    actions.sync_all_public_rows()


register(
    Denormalisation(
        name="public-row-changes",
        description="The change sequence behind incremental exports (`?since=`): every page+tag "
        "row of the public export with the values it was last sent with, and its place in one "
        "ordered sequence; a new row, a change of count, reviews, agreement, confidence or "
        "first-tagged time, and a row leaving the export (a tombstone) each take the next place. "
        "A reader who follows `?since=` holds exactly what a full export gives.",
        derived_from="the public export's rows (`reviews_pagetag` with a count, an active tag and "
        "`listed_at`, `reviews_page.review_count`, `reviews_pagetag.confidence`)",
        lives_in="`consensus_publicrow` (seq from `consensus_publicrow_seq`)",
        kept_current_by="`consensus.tasks.refresh_reviewed_pages` (reviewed pages, after their "
        "confidence); `denorm.changed` after commit (quarantine, release, withdrawal, "
        "reinstatement, deletes, thresholds and scopes: every page of what is named); "
        "`consensus.tasks.reestimate` (every row); changes the code never declares (a tag "
        "deactivated) by the periodic check, which gives them their place",
        rebuild=rebuild_public_rows,
        check=check_public_rows,
        repair=repair_public_rows,
        refresh=refresh_public_rows,
        # After the confidence (40) and the listed-at stamps (13) it copies.
        order=45,
        kept_current_on_commit=False,
        lag_seconds=60,
        repaired_by="the `consensus-refresh-reviewed-pages` beat task and the periodic check",
    )
)
