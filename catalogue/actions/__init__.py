"""Every write of the catalogue, one module per subject; the admin, commands, tasks and
``seed_demo`` call these and write nothing themselves.

- :mod:`catalogue.actions.documents`: ``create_document_from_path``/``_from_upload``,
  ``queue_document_import``, ``reimport_document``, ``delete_document``, ``delete_pages``,
  ``requeue_stalled_imports``, ``update_document``, and the import's ``start_document_import``,
  ``commit_document_pages``, ``fail_document_import``
- :mod:`catalogue.actions.reference`: ``ensure_party``, ``ensure_member``, ``ensure_tag``

Names are ``verb_noun``, arguments keyword-only, each action atomic. Reviews' writes are in
``reviews.actions``, assignments' in ``assignments.actions``.
"""

from catalogue.actions.documents import (
    QueuedDocument,
    create_document_from_path,
    create_document_from_upload,
    delete_document,
    delete_pages,
    queue_document_import,
    reimport_document,
    requeue_stalled_imports,
    update_document,
)
from catalogue.actions.reference import ensure_member, ensure_party, ensure_tag

__all__ = [
    "QueuedDocument",
    "create_document_from_path",
    "create_document_from_upload",
    "delete_document",
    "delete_pages",
    "ensure_member",
    "ensure_party",
    "ensure_tag",
    "queue_document_import",
    "reimport_document",
    "requeue_stalled_imports",
    "update_document",
]
