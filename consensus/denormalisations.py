"""The consensus app's copy: ``reviews_pagetag.confidence`` (registry entry
``page-tag-confidence``).

Derived from the page's counted reviews and the model's parameters (``consensus_reliability``,
``consensus_tagprevalence``, written by the scheduled re-estimation). Kept current after commit:

- a review (``reviews.signals.review_recorded``): its page's rows re-derived, two round trips;
- anything else that changes a page's counted reviews (quarantine and release, deletes, a
  recount of ``reviews_pagetag``, which may recreate rows with no confidence) through
  ``denorm.changed``: the pages named are re-derived, after the page-tag counts (order);
- a re-estimation (``consensus.tasks.reestimate``): every row.

The check recomputes every row from Postgres and compares; the repair writes only rows that
differ.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from consensus import actions, selectors
from denorm.changes import Changes
from denorm.operations import mark_stale
from denorm.registry import Denormalisation, Drift, register
from reviews import signals

log = logging.getLogger("crowd.denormalisation")

NAME = "page-tag-confidence"


def refresh_page_tag_confidence(changes: Changes) -> None:
    if changes.pages:
        actions.refresh_confidence(changes.pages)


def _drift(*, repair: bool) -> Drift:
    drift = Drift()
    for chunk in selectors.all_page_ids_with_tags():
        differ = [c for c in selectors.pagetag_confidences(chunk) if c.stored != c.want]
        for c in differ:
            if c.stored is None:
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
        kept_current_by="after commit: `reviews.signals.review_recorded` (the page's rows); "
        "`denorm.changed` for pages (quarantine, release, deletes, page-tag recounts); "
        "`consensus.tasks.reestimate` on a schedule (`CONSENSUS_REESTIMATE_SECONDS`: every row, "
        "after re-fitting reliability and prevalence).",
        rebuild=rebuild_page_tag_confidence,
        check=check_page_tag_confidence,
        repair=repair_page_tag_confidence,
        refresh=refresh_page_tag_confidence,
        # After the page-tag counts (11), whose recount may recreate rows.
        order=40,
    )
)


@receiver(signals.review_recorded, dispatch_uid="consensus-review")
def _on_review(sender, *, page_id, **kwargs):
    try:
        actions.refresh_confidence([page_id])
    except Exception as exc:  # Postgres hiccup after commit: the periodic repair catches up
        log.warning("refreshing the confidence of page %s failed: %r", page_id, exc)
        mark_stale([NAME], repr(exc)[:200])
    try:
        # The page may now be sure enough to leave assignments that retire when confident.
        actions.retire_confident_pages([page_id])
    except Exception as exc:  # the next re-estimation's sweep retires it
        log.warning("retiring page %s failed: %r", page_id, exc)
