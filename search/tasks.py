"""Celery tasks of the search app: thin, an action or the pipeline called.

``ocr_next_page_task`` runs on the ``ocr`` queue (``CELERY_TASK_ROUTES``) and takes no page id:
each message is a token for one page, and the task claims the best pending page when it runs
(featured first; see :mod:`search.actions`). ``acks_late``: a worker killed mid-page loses the
token, not the page, which ``requeue_stalled_ocr`` puts back.
"""

from celery import shared_task

from search import actions, pipeline


@shared_task(acks_late=True, reject_on_worker_lost=False, ignore_result=True)
def ocr_next_page_task() -> str:
    return pipeline.ocr_next_page().status


@shared_task(ignore_result=True)
def record_document_texts_task(document_id: int) -> int:
    """The text rows of a document whose import's texts did not arrive (read from the source)."""
    return len(pipeline.record_missing_texts(document_id))


@shared_task
def requeue_stalled_ocr() -> int:
    return actions.requeue_stalled_ocr()
