"""Postgres: ``Document.page_count``, the pages of each document."""

from __future__ import annotations

from django.db import connection, transaction

from catalogue.denormalisations._common import _chunks, _repair_counts, _wrong_counts
from catalogue.models import Document, Page
from denorm.changes import Changes
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import compose

TABLES = {
    "document": Document,
    "page": Page,
}


def recount_documents(document_ids) -> None:
    """Set ``Document.page_count`` of these documents from their pages (rows locked first, so an
    import committing the same document is either counted whole or waits)."""
    for chunk in _chunks(document_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                compose("SELECT id FROM {document} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", **TABLES),
                [chunk],
            )
            cursor.execute(
                compose(
                    "UPDATE {document} d SET page_count = c.n FROM ("
                    " SELECT d2.id, count(p.id) AS n FROM {document} d2"
                    " LEFT JOIN {page} p ON p.document_id = d2.id WHERE d2.id = ANY(%s) GROUP BY d2.id"
                    ") c WHERE d.id = c.id AND d.page_count <> c.n",
                    **TABLES,
                ),
                [chunk],
            )


def refresh_document_page_count(changes: Changes) -> None:
    documents = set(changes.documents)
    if changes.pages:
        for context in changes.pages.values():
            documents |= context.documents
        documents |= set(
            Page.objects.filter(pk__in=list(changes.pages)).values_list("document_id", flat=True).distinct()
        )
    if documents:
        recount_documents(documents)


def rebuild_document_page_count() -> None:
    recount_documents(Document.objects.values_list("id", flat=True))


_DOCUMENT_PAGE_COUNT_SQL = compose(
    "SELECT d.id, d.page_count, count(p.id) FROM {document} d"
    " LEFT JOIN {page} p ON p.document_id = d.id GROUP BY d.id"
    " HAVING d.page_count <> count(p.id) ORDER BY d.id",
    **TABLES,
)


def check_document_page_count() -> Drift:
    return _wrong_counts("document", _DOCUMENT_PAGE_COUNT_SQL)


def repair_document_page_count() -> Drift:
    return _repair_counts("document", _DOCUMENT_PAGE_COUNT_SQL, recount_documents)


register(
    Denormalisation(
        name="document-page-count",
        description="How many pages each document has ('page 3 of 12', the admin's page link). Set "
        "by the importer with the pages; recounted when pages are deleted or moved.",
        derived_from="count of `reviews_page` rows per document",
        lives_in="`reviews_document.page_count`",
        kept_current_by="`catalogue.actions.documents.commit_document_pages` in the transaction that creates the pages; after commit, "
        "a recount of the affected documents by `denorm.changed` (page deletes and "
        "cascades, moves, bulk changes declared by their callers).",
        rebuild=rebuild_document_page_count,
        check=check_document_page_count,
        repair=repair_document_page_count,
        refresh=refresh_document_page_count,
        order=13,
    )
)
