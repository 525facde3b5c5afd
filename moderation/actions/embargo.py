"""The embargo, from the editor's side: publish a document on its own (lift its embargo) or put
it back under embargo. The rule of who may see what is ``assignments.visibility``; this module
only moves its truth, ``Document.published_at``, and records each decision (who, when) as an
``EmbargoDecision`` shown on ``/staff/activity/``, as a withdrawal is.

A document in a published assignment is public whatever its ``published_at``: embargoing it
here only takes away its own publication (the admin says so). ``sync_visibility`` re-derives
``Document.public`` and ``Page.public`` in the same transaction and relists the pages' tags;
after commit the page cache's ``catalogue`` generation is bumped (``denorm.changes``), so the
pages are public (or gone) at once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from assignments.actions import sync_visibility
from catalogue.models import Document
from moderation.actions.takedown import TakedownError, _by, _lock_document, _pk
from moderation.models import EmbargoDecision


class EmbargoError(TakedownError):
    """Bad input or a state that does not allow the step: the message is safe to show."""


def _lock(document) -> Document:
    try:
        return _lock_document(_pk(document))
    except TakedownError as exc:
        raise EmbargoError(exc.message, code=exc.code) from None


@transaction.atomic
def publish_document(document, *, by) -> EmbargoDecision:
    """Lift a document's embargo: it is public from this commit on (unless withdrawn)."""
    document = _lock(document)
    if document.published_at is not None:
        raise EmbargoError("That document is already published on its own.", code="already_published")
    now = timezone.now()
    document.published_at = now
    document.save(update_fields=["published_at"])
    record = EmbargoDecision.objects.create(
        document_id=document.pk, kind=EmbargoDecision.Kind.PUBLISHED, decided_by=_by(by), decided_at=now
    )
    sync_visibility(document_ids=[document.pk])
    return record


@transaction.atomic
def embargo_document(document, *, by) -> EmbargoDecision:
    """Take back a document's own publication: it is staff-only again unless a published
    assignment contains it."""
    document = _lock(document)
    if document.published_at is None:
        raise EmbargoError("That document is not published on its own.", code="not_published")
    now = timezone.now()
    document.published_at = None
    document.save(update_fields=["published_at"])
    record = EmbargoDecision.objects.create(
        document_id=document.pk, kind=EmbargoDecision.Kind.EMBARGOED, decided_by=_by(by), decided_at=now
    )
    sync_visibility(document_ids=[document.pk])
    return record
