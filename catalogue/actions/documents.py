"""Writes about documents: create (from a path or an upload), queue, re-import, delete, requeue
stalled imports, and the import's own state changes (start, commit pages, fail).

A document is created (deduplicated by the sha256 of its bytes) and its import queued once the
transaction commits; a Celery task per document then runs :func:`catalogue.importer.import_document`,
which renders the pages (:mod:`catalogue.pdf`) and records the outcome through
:func:`start_document_import`, :func:`commit_document_pages` or :func:`fail_document_import`.

Imports are queued by task name (``IMPORT_TASK``): the tasks module imports the actions, so the
actions never import it. Page rows arrive with ``bulk_create`` and status changes with
``QuerySet.update()``, which send no signal: :func:`commit_document_pages` announces the new
pages with ``catalogue.signals.document_imported`` after commit, the one place the registry learns
of them (see ``docs/denormalisations.md``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from catalogue import signals
from catalogue.import_lock import import_lock
from catalogue.models import Document, Member, Page
from catalogue.pdf import check_pdf_filename, sha256_of, title_from_filename
from catalogue.storage import source_name, source_storage
from lib.celery_app import celery_app

log = logging.getLogger("crowd.import")

IMPORT_TASK = "catalogue.tasks.import_document_task"


@dataclass(frozen=True)
class QueuedDocument:
    document: Document
    created: bool  # False when a document with the same bytes already existed


# --- Creating, queueing, re-importing, deleting ------------------------------------------------


def create_document_from_path(
    *, path: Path, member: Member | None = None, title: str = "", queue: bool = True
) -> QueuedDocument:
    """Create (or find, by content hash) the document for the file at ``path``."""
    path = Path(path)
    with path.open("rb") as handle:
        return _create_document(fileobj=handle, filename=path.name, member=member, title=title, queue=queue)


def create_document_from_upload(
    *, upload: File, member: Member | None = None, title: str = "", queue: bool = True
) -> QueuedDocument:
    """Create (or find, by content hash) the document for an uploaded file (the admin form)."""
    return _create_document(
        fileobj=upload, filename=upload.name or "upload.pdf", member=member, title=title, queue=queue
    )


def _create_document(
    *, fileobj: IO[bytes], filename: str, member: Member | None, title: str, queue: bool
) -> QueuedDocument:
    sha = sha256_of(fileobj)
    existing = Document.objects.filter(sha256=sha).first()
    if existing is not None:
        return QueuedDocument(document=existing, created=False)
    document = Document(title=title.strip() or title_from_filename(filename), member=member, sha256=sha)
    # The source is stored before the row exists: on a lost race (same file imported twice at
    # once) the loser deletes its copy and returns the winner's document.
    # Stored by content hash in the private source storage (catalogue.storage): the uploaded name is
    # only a title hint and never reaches the file system or a URL.
    check_pdf_filename(filename)
    if document.source.storage.exists(source_name(document, filename)):
        # Left by a failed or lost-race earlier attempt: the same bytes, by construction.
        document.source.name = source_name(document, filename)
    else:
        document.source.save(filename, File(fileobj), save=False)
    try:
        with transaction.atomic():
            document.save()
            # Embargoed (staff only) unless its member or party is in a published assignment.
            signals.documents_placed.send(sender=Document, document_ids=[document.pk])
            document.refresh_from_db(fields=["public"])
            if queue:
                queue_document_import(document_id=document.pk)
    except IntegrityError:
        # The winner stored the same bytes under the canonical name: drop only a suffixed copy.
        if document.source.name != source_name(document, filename):
            source_storage().delete(document.source.name)
        return QueuedDocument(document=Document.objects.get(sha256=sha), created=False)
    return QueuedDocument(document=document, created=True)


def queue_document_import(*, document_id: int) -> None:
    """Queue the Celery import of a document once the current transaction commits."""
    transaction.on_commit(lambda: _send_import_task(document_id))


def _send_import_task(document_id: int) -> None:
    try:
        celery_app().send_task(IMPORT_TASK, args=[document_id])
    except Exception as exc:
        # The document is committed as pending: a broker outage must not turn the upload into
        # an error. requeue_stalled_imports (Celery beat) sends it again once the broker is back.
        log.warning("could not queue the import of document %s: %r", document_id, exc)


def _queued_tasks() -> int | None:
    """Messages waiting in Celery's default queue (None when the broker cannot be asked)."""
    try:
        with celery_app().connection_for_write() as conn:
            # Declaring is idempotent (and creates the queue when nothing has used it yet).
            return conn.default_channel.queue_declare(
                queue=celery_app().conf.task_default_queue, durable=True, auto_delete=False
            ).message_count
    except Exception:
        return None


def requeue_stalled_imports(*, older_than_seconds: int = 600) -> list[int]:
    """Queue again the imports that should have finished by now: pending documents (their task
    was lost, e.g. queued while the broker was down) and importing ones no worker holds the lock
    of. A duplicate task is harmless: the import lock and the imported status make it a no-op."""
    if _queued_tasks() != 0:
        return []  # a backlog is still being worked through: its documents are not lost
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stalled = list(
        Document.objects.filter(
            status__in=[Document.Status.PENDING, Document.Status.IMPORTING], created__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    requeued = []
    for document_id in stalled:
        with import_lock(document_id) as free:
            if free:
                requeued.append(document_id)
    for document_id in requeued:
        _send_import_task(document_id)
    return requeued


def reimport_document(*, document_id: int, queue: bool = True) -> bool:
    """Send a document that did not import back to the queue. False when it is already imported."""
    with transaction.atomic():
        updated = (
            Document.objects.filter(pk=document_id)
            .exclude(status=Document.Status.IMPORTED)
            .update(status=Document.Status.PENDING, error="")
        )
        if updated and queue:
            queue_document_import(document_id=document_id)
    return bool(updated)


@transaction.atomic
def update_document(*, document_id: int, title: str, member_id: int | None) -> Document:
    """An editor's edit of a document's title and member. A save, so the registry hears of a
    document that moves to another member (its pages move with it)."""
    document = Document.objects.select_for_update().get(pk=document_id)
    document.title, document.member_id = title, member_id
    document.save(update_fields=["title", "member"])
    # Another member: maybe in another assignment (assignments.receivers re-derives public).
    signals.documents_placed.send(sender=Document, document_ids=[document.pk])
    document.refresh_from_db(fields=["public"])
    return document


def delete_document(*, document_id: int) -> int:
    """Delete a document with its pages (and their reviews), then its stored files after commit.
    Returns how many reviews went with it."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            return 0
        reviews = _lock_pages(Page.objects.filter(document_id=document_id))
        names = [name for row in document.pages.values_list("image", "thumbnail") for name in row if name]
        source = document.source.name
        document.delete()
        # Files go only once the rows are gone for good: a rolled-back delete keeps its images.
        transaction.on_commit(lambda: delete_stored_files(names))
        if source:
            transaction.on_commit(lambda: delete_stored_files([source], storage=source_storage()))
    return reviews


def delete_pages(*, page_ids: Iterable[int]) -> int:
    """Delete pages (and their reviews), then their image files after commit. Returns how many
    reviews went with them."""
    with transaction.atomic():
        pages = Page.objects.filter(pk__in=list(page_ids))
        reviews = _lock_pages(pages)
        names = [name for row in pages.values_list("image", "thumbnail") for name in row if name]
        pages.delete()
        transaction.on_commit(lambda: delete_stored_files(names))
    return reviews


def _lock_pages(pages) -> int:
    """Lock the page rows before Django collects what cascades with them: a review being
    submitted at that moment locks its page row first (``submit_review``), so it either committed
    before (and is collected and deleted with the page) or waits and then finds no page, instead
    of slipping in between the collection and the commit and failing the delete on its foreign
    key. Returns the number of reviews the pages have."""
    ids = list(pages.select_for_update().order_by("pk").values_list("pk", flat=True))
    # Through the reverse relation: the catalogue counts its pages' reviews without importing the
    # reviewing (docs/architecture.md).
    return Page.objects.filter(pk__in=ids).aggregate(n=Count("reviews"))["n"]


def delete_stored_files(names: Iterable[str], *, storage=None) -> None:
    """Delete stored files (page images by default), ignoring ones already gone (best effort:
    leftovers are harmless)."""
    storage = storage or default_storage
    for name in names:
        with contextlib.suppress(Exception):
            storage.delete(name)


# --- The import's state changes (called by catalogue.importer, under the import lock) -----------


def start_document_import(*, document_id: int) -> None:
    Document.objects.filter(pk=document_id).update(status=Document.Status.IMPORTING, error="")


def commit_document_pages(
    *, document_id: int, pages: list[Page], texts: dict[int, tuple[str, tuple]] | None = None
) -> list[str]:
    """Swap in a document's rendered pages in one transaction and mark it imported; announce the
    pages after commit. Returns the stored files of replaced stray pages (delete them after).

    ``texts``: each page's text layer and word boxes by page number, passed on with the
    announcement (``page_texts``) to whoever stores text (the search app) without this layer
    knowing of it; a page left out is extracted again from the source there."""
    with transaction.atomic():
        # The document row locked first, as a withdrawal does (moderation.actions.takedown): the
        # pages of a document withdrawn before or during its import arrive withdrawn, and those
        # of an embargoed one embargoed (assignments.visibility: the document's public, derived
        # afresh here in case an assignment took it in meanwhile).
        Document.objects.select_for_update().filter(pk=document_id).values_list("pk").first()
        signals.documents_placed.send(sender=Document, document_ids=[document_id])
        withdrawn_at, public = Document.objects.filter(pk=document_id).values_list(
            "withdrawn_at", "public"
        ).first() or (None, False)
        for page in pages:
            page.withdrawn_at = withdrawn_at
            page.public = public and withdrawn_at is None
        replaced = _delete_unfinished_pages(document_id)
        Page.objects.bulk_create(pages, batch_size=500)
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.IMPORTED,
            page_count=len(pages),
            error="",
            imported_at=timezone.now(),
        )
        transaction.on_commit(lambda: _send_imported(document_id, texts))
    return replaced


def fail_document_import(*, document_id: int, reason: str) -> list[str]:
    """Mark a document FAILED with ``reason``, dropping any stray pages of unfinished attempts.
    Returns their stored files (delete them after)."""
    with transaction.atomic():
        replaced = _delete_unfinished_pages(document_id)
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.FAILED, error=reason, page_count=0, imported_at=None
        )
    return replaced


def _delete_unfinished_pages(document_id: int) -> list[str]:
    """Delete stray pages of an unfinished attempt (never of an imported document)."""
    rows = list(Page.objects.filter(document_id=document_id).values_list("image", "thumbnail"))
    if rows:
        Page.objects.filter(document_id=document_id).delete()
    return [name for row in rows for name in row if name]


def _send_imported(document_id: int, texts: dict | None = None) -> None:
    for receiver, result in signals.document_imported.send_robust(
        sender=Document, document_id=document_id, page_texts=texts
    ):
        if isinstance(result, Exception):
            log.warning("document_imported receiver %r failed: %r", receiver, result)
