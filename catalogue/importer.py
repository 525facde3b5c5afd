"""The import of one document: lock, render, store, commit; one ``Page`` per PDF page.

:func:`import_document` is what the Celery task ``catalogue.tasks.import_document_task`` (and
``import_documents --sync`` and ``seed_demo``) runs. Under the document's import lock
(:mod:`catalogue.import_lock`) it renders every page with :mod:`catalogue.pdf` to a web image and a
thumbnail stored through Django's default storage, then records the outcome through the document
actions (:mod:`catalogue.actions.documents`). The import is all-or-nothing: page rows are created
in one transaction only after every page rendered and stored, and the stored files of an attempt
that did not commit are deleted. A bad file marks the document FAILED with the reason and leaves
no pages. Creating, queueing, re-importing and deleting documents are actions too; this module
never imports the tasks module (the tasks import it).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from catalogue.actions import documents as actions
from catalogue.import_lock import import_lock
from catalogue.models import Document, Page
from catalogue.pdf import ImportFailure, open_pdf, render_pages

log = logging.getLogger("crowd.import")


@dataclass(frozen=True)
class ImportResult:
    document_id: int
    status: str  # imported | failed | already_imported | busy
    page_count: int = 0
    error: str = ""
    seconds: float = 0.0


def _page_dirs(document_id: int) -> tuple[str, str]:
    return f"pages/{document_id}", f"thumbs/{document_id}"


def _orphan_files(document_id: int, keep: set[str]) -> list[str]:
    """Stored page images of this document that no page row refers to (a killed attempt's)."""
    found = []
    for directory in _page_dirs(document_id):
        try:
            _, files = default_storage.listdir(directory)
        except (FileNotFoundError, NotImplementedError):
            continue
        found += [f"{directory}/{f}" for f in files if f"{directory}/{f}" not in keep]
    return found


def import_document(document_id: int) -> ImportResult:
    """Render and store every page of a document, then create its pages in one transaction.

    Safe to run again at any time: an imported document is left alone; anything else (pending,
    failed, or left "importing" by a killed worker, possibly with stray pages or files) is
    imported from scratch.
    """
    with import_lock(document_id) as acquired:
        if not acquired:
            return ImportResult(document_id, "busy", error="another worker is importing this document")
        return _import_locked(document_id)


def _import_locked(document_id: int) -> ImportResult:
    started = time.monotonic()
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return ImportResult(document_id, "failed", error="no such document")
    if document.status == Document.Status.IMPORTED:
        return ImportResult(document_id, "already_imported", page_count=document.page_count)
    actions.start_document_import(document_id=document_id)
    # Files a killed attempt stored but never committed rows for.
    kept = set()
    for image, thumb in Page.objects.filter(document_id=document_id).values_list("image", "thumbnail"):
        kept |= {image, thumb}
    actions.delete_stored_files(_orphan_files(document_id, kept))

    stored: list[str] = []
    attempt = secrets.token_hex(4)  # new names each attempt: never overwrite a committed file
    pages_dir, thumbs_dir = _page_dirs(document_id)
    try:
        try:
            source = document.source.open("rb")
        except (FileNotFoundError, OSError) as exc:
            raise ImportFailure(f"The source file is missing from storage ({exc}).") from None
        with source:
            pdf = open_pdf(source)
            try:
                pages = []
                texts: dict[int, tuple[str, tuple]] = {}
                for rendered in render_pages(pdf):
                    # Text layer and word boxes, announced with the pages (search stores them).
                    texts[rendered.number] = (rendered.text, rendered.words)
                    stem = f"{rendered.number:05d}-{attempt}.jpg"
                    image_name = default_storage.save(f"{pages_dir}/{stem}", ContentFile(rendered.image))
                    stored.append(image_name)
                    thumb_name = default_storage.save(f"{thumbs_dir}/{stem}", ContentFile(rendered.thumbnail))
                    stored.append(thumb_name)
                    pages.append(
                        Page(
                            document_id=document_id,
                            number=rendered.number,
                            image=image_name,
                            thumbnail=thumb_name,
                            width=rendered.width,
                            height=rendered.height,
                        )
                    )
            finally:
                pdf.close()
        replaced = actions.commit_document_pages(document_id=document_id, pages=pages, texts=texts)
    except ImportFailure as exc:
        actions.delete_stored_files(stored)
        replaced = actions.fail_document_import(document_id=document_id, reason=str(exc))
        actions.delete_stored_files(replaced)
        log.info("document %s failed to import: %s", document_id, exc)
        return ImportResult(document_id, "failed", error=str(exc), seconds=time.monotonic() - started)
    except BaseException:
        # Database or storage trouble (not the file's fault), or the worker being stopped: leave
        # no stray files; the document stays "importing" and a retry starts over.
        actions.delete_stored_files(stored)
        raise
    actions.delete_stored_files(replaced)
    elapsed = time.monotonic() - started
    log.info("document %s imported: %d pages in %.1fs", document_id, len(pages), elapsed)
    return ImportResult(document_id, "imported", page_count=len(pages), seconds=elapsed)
