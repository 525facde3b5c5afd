"""The search app hears of new pages through ``catalogue.signals.document_imported`` (sent after
the import's commit) and stores their text layers, queueing OCR for the scans. A failure here
costs no page: ``manage.py ocr_pages --missing`` gives text rows to pages without one."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from catalogue import signals
from search.signals import page_text_changed

log = logging.getLogger("crowd.search")


@receiver(signals.document_imported, dispatch_uid="search-imported")
def _document_imported(sender, *, document_id, page_texts=None, **kwargs):
    from search import pipeline

    pipeline.record_missing_texts(document_id, page_texts)


def _assignment_saved(sender, instance, **kwargs):
    from search import actions

    if instance.active and instance.featured != instance.Featured.NONE:
        pk = instance.pk
        transaction.on_commit(lambda: actions.prioritise_assignment_ocr(assignment_id=pk))


def connect() -> None:
    from assignments.models import Assignment

    post_save.connect(_assignment_saved, sender=Assignment, dispatch_uid="search-featured-first")
    m2m_changed.connect(
        lambda sender, instance, action, **kw: (
            _assignment_saved(sender, instance)
            if action.startswith("post_") and isinstance(instance, Assignment)
            else None
        ),
        weak=False,
        dispatch_uid="search-featured-first-m2m",
    )


@receiver(page_text_changed, dispatch_uid="search-pagecache")
def _page_text_changed(sender, *, page_ids, **kwargs):
    """The cached views of these pages show their text: stale now."""
    from pagecache import generations

    generations.bump([generations.page(page_id) for page_id in page_ids])
