"""Where pages live: each page's document, member, party and assignments (``PageContext``), read
from Postgres before a change so that the copies of both the old and the new place are refreshed."""

from __future__ import annotations

from django.db import connection

from assignments import scope
from catalogue.models import Document, Page
from denorm.changes import PageContext, context_cache


def document_contexts(document_ids) -> dict[int, PageContext]:
    """Owners and assignments of each document's pages, as Postgres has them now."""
    document_ids = list(document_ids)
    if not document_ids:
        return {}
    contexts: dict[int, PageContext] = {}
    for doc_id, member_id, party_id in Document.objects.filter(pk__in=document_ids).values_list(
        "id", "member_id", "member__party_id"
    ):
        contexts[doc_id] = PageContext(
            documents={doc_id},
            members={member_id} if member_id else set(),
            parties={party_id} if party_id else set(),
        )
    with connection.cursor() as cursor:
        cursor.execute(scope.assignments_of_documents_sql(), {"docs": document_ids})
        for doc_id, assignment_id in cursor.fetchall():
            if doc_id in contexts:
                contexts[doc_id].assignments.add(assignment_id)
    return contexts


def page_states(page_ids) -> dict[int, tuple[PageContext, int]]:
    """For each existing page: where it lives now and its review count. A withdrawn page, or a
    known-answer (gold) one (issue 25), is in no assignment (``assignments.scope``) but keeps
    its owners."""
    rows = list(
        Page.objects.filter(pk__in=list(page_ids)).values_list(
            "id", "document_id", "review_count", "withdrawn_at", "known_answer"
        )
    )
    docs = document_contexts({row[1] for row in rows})
    states = {}
    for pid, doc, count, withdrawn_at, known_answer in rows:
        context = docs.get(doc) or PageContext(documents={doc})
        if withdrawn_at is not None or known_answer:
            context = PageContext(
                documents=context.documents, members=context.members, parties=context.parties
            )
        states[pid] = (context, count)
    return states


def capture_document_pages(document_ids) -> dict[int, PageContext]:
    """Where every page of these documents lives now (before a move or delete)."""
    contexts = document_contexts(document_ids)
    return {
        pid: PageContext().merge(contexts.get(doc))
        for pid, doc in Page.objects.filter(document_id__in=list(document_ids)).values_list(
            "id", "document_id"
        )
    }


def _cached_document_context(document_id: int) -> PageContext:
    cache = context_cache()
    key = ("document", document_id)
    if key not in cache:
        cache[key] = document_contexts([document_id]).get(document_id) or PageContext(documents={document_id})
    return cache[key]
