"""Every write of the reviews app, one module per subject; the admin, commands, tasks, views and
``seed_demo`` call these and write nothing themselves.

- :mod:`reviews.actions.reviews`: ``submit_review``, ``skip_page``
- :mod:`reviews.actions.accounts`: ``create_anonymous_reviewer``, ``claim_account``,
  ``create_named_reviewer``
- :mod:`reviews.actions.documents`: ``create_document_from_path``/``_from_upload``,
  ``queue_document_import``, ``reimport_document``, ``delete_document``,
  ``requeue_stalled_imports``, ``update_document``, and the import's ``start_document_import``,
  ``commit_document_pages``, ``fail_document_import``
- :mod:`reviews.actions.discoveries`: ``create_discovery``, ``update_discovery``
- :mod:`reviews.actions.catalogue`: ``ensure_party``, ``ensure_member``, ``ensure_tag``
- :mod:`reviews.actions.rotation`: ``set_page_rotation``

Names are ``verb_noun``, arguments keyword-only, each action atomic. Assignment writes are in
``assignments.actions``; the editor account's in ``lib.actions``.
"""

from reviews.actions.accounts import claim_account, create_anonymous_reviewer, create_named_reviewer
from reviews.actions.catalogue import ensure_member, ensure_party, ensure_tag
from reviews.actions.discoveries import create_discovery, update_discovery
from reviews.actions.documents import (
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
from reviews.actions.reviews import (
    MAX_TAGS_PER_REVIEW,
    ReviewError,
    ReviewOutcome,
    skip_page,
    submit_review,
)

__all__ = [
    "MAX_TAGS_PER_REVIEW",
    "QueuedDocument",
    "ReviewError",
    "ReviewOutcome",
    "claim_account",
    "create_anonymous_reviewer",
    "create_named_reviewer",
    "create_discovery",
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
    "skip_page",
    "submit_review",
    "update_discovery",
    "update_document",
]
