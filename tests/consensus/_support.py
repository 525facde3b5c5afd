"""Helpers for the consensus tests."""

from __future__ import annotations

from consensus.tasks import refresh_reviewed_pages
from reviews.actions import submit_review


def review(**kwargs):
    """``submit_review``, then what the beat task does within seconds (the task itself, run
    here): the reviewed page's confidence re-derived and, if the crowd is sure, retired."""
    outcome = submit_review(**kwargs)
    refresh_reviewed_pages()
    return outcome
