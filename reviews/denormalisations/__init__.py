"""Denormalisations derived from documents, pages, reviews and skips (see the ``denorm`` app).

Redis: the page ids of each document, member and party, and the pages each reviewer has seen
(reviewed or skipped). Postgres: ``Page.review_count``, ``PageTag`` and ``Reviewer.review_count``.

Tags and PageTag: a ``PageTag`` row counts every review that gave the page the tag, whether the
tag is active or not, and ``first_tagged_at`` is the time of the earliest such review still in
Postgres. Deactivating a tag therefore changes no copy (listings hide inactive tags; reactivating
brings the counts back intact); deleting a tag deletes its rows by cascade. When the reviews
behind a tag go (reviewer or page deleted), the row is recounted and ``first_tagged_at`` moves to
the earliest remaining review, or the row goes.

One module per copy, each registering its entries (``denorm.registry``): ``counters``
(``Page.review_count``, ``PageTag``, ``Reviewer.review_count``), ``quarantine``
(``Review.quarantined``), ``document_pages`` (``Document.page_count``), ``owner_sets`` (Redis page
ids per document, member, party), ``seen`` (Redis pages each reviewer has seen) and ``receivers``
(every signal receiver). This package re-exports their public names. ``PageTag.listed_at`` and
where pages live (read before a change) follow the assignments' rules and are theirs
(``assignments/denormalisations/listed_at.py``, ``contexts.py``); the shared helpers are
``catalogue/denormalisations/_common.py``.
"""

from reviews.denormalisations import receivers
from reviews.denormalisations.counters import (
    check_page_review_count,
    check_page_tags,
    check_reviewer_review_count,
    rebuild_page_review_count,
    rebuild_page_tags,
    rebuild_reviewer_review_count,
    recount_page_reviews,
    recount_page_tags,
    recount_reviewers,
    refresh_review_counters,
    repair_page_review_count,
    repair_page_tags,
    repair_reviewer_review_count,
)
from reviews.denormalisations.document_pages import (
    check_document_page_count,
    rebuild_document_page_count,
    recount_documents,
    refresh_document_page_count,
    repair_document_page_count,
)
from reviews.denormalisations.owner_sets import owner_truth, refresh_owner_sets
from reviews.denormalisations.quarantine import (
    check_review_quarantined,
    copy_quarantine,
    rebuild_review_quarantined,
    repair_review_quarantined,
)
from reviews.denormalisations.seen import (
    check_reviewer_seen,
    rebuild_reviewer_seen,
    refresh_reviewer_seen,
    repair_reviewer_seen,
    seen_truth,
)

__all__ = [
    "check_document_page_count",
    "check_page_review_count",
    "check_page_tags",
    "check_review_quarantined",
    "check_reviewer_review_count",
    "check_reviewer_seen",
    "copy_quarantine",
    "owner_truth",
    "rebuild_document_page_count",
    "rebuild_page_review_count",
    "rebuild_page_tags",
    "rebuild_review_quarantined",
    "rebuild_reviewer_review_count",
    "rebuild_reviewer_seen",
    "receivers",
    "recount_documents",
    "recount_page_reviews",
    "recount_page_tags",
    "recount_reviewers",
    "refresh_document_page_count",
    "refresh_owner_sets",
    "refresh_review_counters",
    "refresh_reviewer_seen",
    "repair_document_page_count",
    "repair_page_review_count",
    "repair_page_tags",
    "repair_review_quarantined",
    "repair_reviewer_review_count",
    "repair_reviewer_seen",
    "seen_truth",
]
