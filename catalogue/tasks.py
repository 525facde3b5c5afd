"""Celery tasks of the catalogue: ids in, an action called. Queued with transaction.on_commit.

The tasks import the importer and the actions, never the other way round: the document actions
queue ``import_document_task`` by name (``catalogue.actions.documents.IMPORT_TASK``).
"""

from celery import shared_task

from catalogue import importer
from catalogue.actions import documents


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_document_task(document_id: int) -> str:
    """Import one document (see catalogue.importer.import_document). Safe to redeliver: a worker
    killed mid-document leaves it to be imported again from scratch, without duplicate pages."""
    return importer.import_document(document_id).status


@shared_task
def requeue_stalled_imports() -> int:
    """Celery beat: queue again the imports whose task was lost (see
    catalogue.actions.documents.requeue_stalled_imports)."""
    return len(documents.requeue_stalled_imports())
