"""Celery tasks of the consensus app: thin, ids in, an action called."""

from __future__ import annotations

from celery import shared_task

from consensus import actions


@shared_task(name="consensus.tasks.reestimate", ignore_result=True)
def reestimate() -> None:
    """The full re-estimation of reliability and confidence (beat: ``CONSENSUS_REESTIMATE_SECONDS``)."""
    actions.reestimate()


@shared_task(name="consensus.tasks.refresh_reviewed_pages", ignore_result=True)
def refresh_reviewed_pages() -> None:
    """Re-derive the confidence of the pages reviewed since the last run and retire those the
    crowd is now sure of (beat: ``CONSENSUS_REFRESH_SECONDS``)."""
    actions.refresh_reviewed_pages()
