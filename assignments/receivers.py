"""Receivers by which the catalogue reaches the assignments layer without importing it
(docs/architecture.md): connected in ``AssignmentsConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from assignments.actions import sync_visibility
from catalogue import signals


@receiver(signals.documents_placed, dispatch_uid="assignments-documents-placed")
def _documents_placed(sender: object, *, document_ids: list[int], **kwargs: Any) -> None:
    """Sent inside the catalogue's transaction: a document's visibility follows the assignments."""
    sync_visibility(document_ids=document_ids)
