"""The search index: ``search_pagetext.search_vector``, a registered denormalisation.

Derived from the page's text (``PageText.text``, weight B) and its document's title and member's
name (weight A), with the ``english`` configuration, so that ``websearch_to_tsquery('english',
…)`` matches it through the GIN index ``pagetext_search_gin``. The expression lives in one place
(:data:`VECTOR_SQL`): the refresh, the rebuild and the check all use it.

Kept current after commit: the text actions (:mod:`search.actions`) refresh the pages they wrote;
a saved document (title, member) or member (name) refreshes its pages (receivers below). Anything
else (a title changed with ``update()``, a hand edit) is found by the check, which recomputes the
expression for every row and compares, and repaired row by row by the periodic check.

Cost: the check re-parses every page's text (to_tsvector), about as costly as a rebuild; at the
demo's scale it is milliseconds, at 458,832 pages it is the price of one full pass (see
docs/denormalisations.md). Text is capped at ``MAX_VECTOR_CHARS`` characters for the vector: a
tsvector must stay under 1 MB and positions stop at 16,383 anyway.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from psycopg import sql

from catalogue.models import Document, Member, Page
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import compose
from search.models import PageText

TABLES = {
    "pagetext": PageText,
    "page": Page,
    "document": Document,
    "member": Member,
}

log = logging.getLogger("crowd.denormalisation")

MAX_VECTOR_CHARS = 200_000
CHUNK = 2000

# Over search_pagetext pt, reviews_page p, reviews_document d, reviews_member m (LEFT JOIN).
VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(d.title, '') || ' ' || coalesce(m.name, '')), 'A')"
    f" || setweight(to_tsvector('english'::regconfig, left(pt.text, {MAX_VECTOR_CHARS})), 'B')"
)
_FROM = compose(
    " FROM {page} p JOIN {document} d ON d.id = p.document_id LEFT JOIN {member} m ON m.id = d.member_id",
    **TABLES,
)


_REFRESH_SQL = compose(
    "UPDATE {pagetext} pt SET search_vector = {vector}{from_}"
    " WHERE p.id = pt.page_id AND pt.page_id = ANY(%s)"
    " AND pt.search_vector IS DISTINCT FROM {vector}",
    vector=sql.SQL(VECTOR_SQL),
    from_=sql.SQL(_FROM),
    **TABLES,
)


def refresh_page_vectors(page_ids) -> int:
    """Recompute the vectors of these pages from their text, title and member; rows already
    right are left alone. Returns how many changed."""
    ids = sorted(set(page_ids))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_REFRESH_SQL, [chunk])
            changed += cursor.rowcount
    return changed


def refresh_after_commit(page_ids) -> None:
    ids = list(page_ids)
    if ids:
        transaction.on_commit(lambda: _refresh_logged(ids))


def _refresh_logged(page_ids) -> None:
    try:
        refresh_page_vectors(page_ids)
    except Exception as exc:  # the periodic check repairs what this missed
        log.warning("search vectors of %d pages not refreshed: %r", len(page_ids), exc)


def refresh_from_changes(changes) -> None:
    """The registry's after-commit refresh (``denorm.changes``): pages named (moved to another
    document, bulk changes), and the pages of documents and members named (a title or owner
    changed with ``update()``)."""
    page_ids = set(changes.pages)
    if changes.documents:
        page_ids |= set(
            _page_ids_where(
                compose("SELECT p.id FROM {page} p WHERE p.document_id = ANY(%s)", **TABLES),
                [sorted(changes.documents)],
            )
        )
    if changes.members:
        page_ids |= set(
            _page_ids_where(
                compose(
                    "SELECT p.id FROM {page} p JOIN {document} d ON d.id = p.document_id"
                    " WHERE d.member_id = ANY(%s)",
                    **TABLES,
                ),
                [sorted(changes.members)],
            )
        )
    if page_ids:
        refresh_page_vectors(page_ids)


def _page_ids_where(sql: str, params) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def rebuild_page_search_vector() -> None:
    refresh_page_vectors(_page_ids_where(compose("SELECT page_id FROM {pagetext}", **TABLES), []))


_DRIFT_SQL = compose(
    "SELECT pt.page_id, pt.search_vector IS NULL FROM {pagetext} pt JOIN {page} p ON p.id = pt.page_id"
    " JOIN {document} d ON d.id = p.document_id LEFT JOIN {member} m ON m.id = d.member_id"
    " WHERE pt.search_vector IS DISTINCT FROM {vector} ORDER BY pt.page_id",
    vector=sql.SQL(VECTOR_SQL),
    **TABLES,
)


def _drift() -> tuple[Drift, list[int]]:
    drift = Drift()
    ids = []
    with connection.cursor() as cursor:
        cursor.execute(_DRIFT_SQL)
        for page_id, missing in cursor.fetchall():
            ids.append(page_id)
            if missing:
                drift.missing += 1
                drift.add_example(f"page {page_id}: no search vector")
            else:
                drift.wrong += 1
                drift.add_example(f"page {page_id}: search vector differs from its text, title and member")
    return drift, ids


def check_page_search_vector() -> Drift:
    return _drift()[0]


def repair_page_search_vector() -> Drift:
    drift, ids = _drift()
    if ids:
        refresh_page_vectors(ids)
    return drift


register(
    Denormalisation(
        name="page-search-vector",
        description="Each page's full-text search vector: its text (weight B) with its document's "
        "title and member's name (weight A), English configuration, under a GIN index; what "
        "/search/, the search API, feed and export match against.",
        derived_from="`search_pagetext.text`, `reviews_document.title`, `reviews_member.name`",
        lives_in="`search_pagetext.search_vector` (GIN index `pagetext_search_gin`)",
        kept_current_by="after commit: `search.actions` (text from the import, OCR results) refresh "
        "their pages; `post_save` of a document or member refreshes its pages; `denorm.changed` "
        "(pages moved, bulk changes) refreshes the pages, documents and members it names; "
        "anything else through the periodic check, which repairs the rows that differ.",
        rebuild=rebuild_page_search_vector,
        check=check_page_search_vector,
        repair=repair_page_search_vector,
        refresh=refresh_from_changes,
        order=60,
    )
)


@receiver(post_save, sender=Document, dispatch_uid="search-vector-document")
def _document_saved(sender, instance, created, **kwargs):
    if not created:
        refresh_after_commit(
            _page_ids_where(
                compose(
                    "SELECT page_id FROM {pagetext} pt JOIN {page} p ON p.id = pt.page_id"
                    " WHERE p.document_id = %s",
                    **TABLES,
                ),
                [instance.pk],
            )
        )


@receiver(post_save, sender=Member, dispatch_uid="search-vector-member")
def _member_saved(sender, instance, created, **kwargs):
    if not created:
        refresh_after_commit(
            _page_ids_where(
                compose(
                    "SELECT pt.page_id FROM {pagetext} pt JOIN {page} p ON p.id = pt.page_id"
                    " JOIN {document} d ON d.id = p.document_id WHERE d.member_id = %s",
                    **TABLES,
                ),
                [instance.pk],
            )
        )
