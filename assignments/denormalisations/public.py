"""Postgres: ``Document.public`` and ``Page.public``, derived from the assignments that contain a
document (the embargo, issue 22)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from psycopg import sql

from assignments import visibility
from assignments.denormalisations.listed_at import relist_pages
from catalogue.models import Document, Page
from denorm.changes import Changes, changed
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import compose

TABLES = {"document": Document, "page": Page}


@transaction.atomic
def sync_visibility(*, document_ids: Iterable[int] | None = None, page_ids: Iterable[int] = ()) -> list[int]:
    """Re-derive ``Document.public`` and ``Page.public`` from the rule in
    ``assignments.visibility`` (published on its own or in a published assignment, not
    withdrawn) in the caller's transaction, so the public sees the change from its commit on.
    Returns the ids of the pages whose ``public`` flipped.

    ``document_ids``: the documents whose truth changed (their own publication, their member,
    a withdrawal, an import); None: every document (an assignment's status or scope changed,
    which may touch any document: the rule is one indexed pass over the documents, and only
    the rows that flip are written and locked). ``page_ids``: pages whose own withdrawal
    changed. The flipped pages' ``PageTag.listed_at`` is re-derived in the same transaction
    (public listings, feeds and exports read it), and after commit the registry's refresh
    bumps the page cache (``catalogue``) and re-derives the documents' other copies.

    An action (``assignments.actions`` re-exports it, and takedown, the embargo and the import
    call it) that lives here because this copy's rebuild runs it too: the denormalisations
    import no action module, so ``assignments.actions`` may import them (``relist_pages``)."""
    rule = visibility.document_public_sql("doc")
    params = {"docs": None if document_ids is None else sorted({int(d) for d in document_ids})}
    only = "" if document_ids is None else " AND doc.id = ANY(%(docs)s)"
    with connection.cursor() as cursor:
        # Documents first, then their pages: the order takedown and the import lock them in.
        cursor.execute(
            compose(
                "UPDATE {document} doc SET public = {rule} WHERE doc.public IS DISTINCT FROM {rule}{only} RETURNING doc.id",
                rule=sql.SQL(rule),
                only=sql.SQL(only),
                **TABLES,
            ),
            params,
        )
        flipped_documents = [row[0] for row in cursor.fetchall()]
        documents = sorted(set(flipped_documents) | set(params["docs"] or ()))
        pages = sorted({int(p) for p in page_ids})
        if not documents and not pages:
            return []
        cursor.execute(
            compose(
                "UPDATE {page} p SET public = (d.public AND p.withdrawn_at IS NULL) "
                "FROM {document} d WHERE d.id = p.document_id "
                "AND (p.document_id = ANY(%(docs)s) OR p.id = ANY(%(pages)s)) "
                "AND p.public IS DISTINCT FROM (d.public AND p.withdrawn_at IS NULL) "
                "RETURNING p.id, p.document_id",
                **TABLES,
            ),
            {"docs": documents, "pages": pages},
        )
        flipped = cursor.fetchall()
    flipped_pages = sorted(pid for pid, _ in flipped)
    if flipped_pages:
        relist_pages(flipped_pages)
    touched = set(flipped_documents) | {doc for _, doc in flipped}
    if touched:
        # After commit: the page cache's catalogue generation (every cached page that may show
        # these documents or pages) and every copy derived from the documents.
        changed(documents=touched)
    return flipped_pages


def _page_public_drift(cursor) -> Drift:
    drift = Drift()
    rule = visibility.document_public_sql("doc")
    cursor.execute(
        compose(
            "SELECT doc.id, doc.public FROM {document} doc WHERE doc.public IS DISTINCT FROM {rule} ORDER BY doc.id",
            rule=sql.SQL(rule),
            **TABLES,
        )
    )
    for doc_id, stored in cursor.fetchall():
        drift.wrong += 1
        drift.add_example(f"document {doc_id}: public={stored}, should be {not stored}")
    cursor.execute(
        compose(
            "SELECT p.id, p.public FROM {page} p JOIN {document} doc ON doc.id = p.document_id "
            "WHERE p.public IS DISTINCT FROM ({rule} AND p.withdrawn_at IS NULL) ORDER BY p.id",
            rule=sql.SQL(rule),
            **TABLES,
        )
    )
    for page_id, stored in cursor.fetchall():
        drift.wrong += 1
        drift.add_example(f"page {page_id}: public={stored}, should be {not stored}")
    return drift


def check_document_page_public() -> Drift:
    with connection.cursor() as cursor:
        return _page_public_drift(cursor)


def rebuild_document_page_public() -> None:
    """Every document from the rule, then every page from its document (only differing rows are
    written); the flipped pages are relisted as the action does."""
    sync_visibility()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            compose(
                "UPDATE {page} p SET public = (d.public AND p.withdrawn_at IS NULL) "
                "FROM {document} d WHERE d.id = p.document_id "
                "AND p.public IS DISTINCT FROM (d.public AND p.withdrawn_at IS NULL) RETURNING p.id, p.document_id",
                **TABLES,
            )
        )
        flipped = cursor.fetchall()
        if flipped:
            relist_pages(sorted(pid for pid, _ in flipped))
            changed(documents={doc for _, doc in flipped})


def repair_document_page_public() -> Drift:
    drift = check_document_page_public()
    if not drift.ok:
        rebuild_document_page_public()
    return drift


def refresh_document_page_public(changes: Changes) -> None:
    if changes.assignments or changes.members or changes.parties:
        sync_visibility()  # an assignment's status or scope, or an owner moved: any document
        return
    documents = set(changes.documents)
    if changes.pages:
        documents |= set(
            Page.objects.filter(pk__in=list(changes.pages)).values_list("document_id", flat=True).distinct()
        )
    if documents:
        sync_visibility(document_ids=documents)


register(
    Denormalisation(
        name="document-page-public",
        description="Whether the public may see each document and page (the embargo, issue 22; "
        "the rule is `assignments.visibility`): a document is public when it is not withdrawn and "
        "an editor published it on its own or it is in a published assignment (by document, "
        "member or party); a page when its document is public and it is not withdrawn. Stored so "
        "that every public surface (pages, review screen, API, listings, feeds, exports, "
        "profiles, search, image URLs) pays for one column. A fresh upload starts embargoed.",
        derived_from="`reviews_document` (published_at, withdrawn_at, member), `reviews_member.party`, "
        "`assignments_assignment.status` and its documents, members and parties; "
        "`reviews_page.withdrawn_at`",
        lives_in="`reviews_document.public`, `reviews_page.public`",
        kept_current_by="`assignments.actions.sync_visibility` in the transaction of the action "
        "that changes the truth (`moderation.actions.embargo` publish/embargo, "
        "`publish_assignment`, `unpublish_assignment`, `set_assignment_scope`, "
        "`moderation.actions.takedown`, the import's `commit_document_pages`, `update_document`), "
        "which also relists the flipped pages' `listed_at`; after commit, this entry's refresh for "
        "assignments, owners, documents and pages declared changed (the admin's form saves).",
        rebuild=rebuild_document_page_public,
        check=check_document_page_public,
        repair=repair_document_page_public,
        refresh=refresh_document_page_public,
        order=3,
    )
)
