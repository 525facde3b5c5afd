"""Writes for the PDF import pipeline: documents in, one rendered ``Page`` per PDF page out.

A document is created (deduplicated by the sha256 of its bytes) and queued; a Celery task per
document then calls :func:`import_document`, which renders every page with pypdfium2 to a web
image and a thumbnail stored through Django's default storage. The import is all-or-nothing:
page rows are created in one transaction only after every page rendered and stored, and the
stored files of an attempt that did not commit are deleted. Bad files (empty, not a PDF,
truncated, corrupt, password-protected) mark the document FAILED with a reason a newsroom can act
on, and leave no pages.

Image format: JPEG (quality 82, progressive), not PNG. Released pages are scans: photographs of
paper with grain, stamps and hand-writing. PNG compresses that noise badly (typically 1-3 MB for
a 1,400 px page) while a JPEG of the same page is ~10x smaller with no visible loss at reading
size, and progressive JPEGs show a readable preview while they download, which matters on a
review screen that serves a new page every few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from reviews import signals
from reviews.models import Document, Member, Page

log = logging.getLogger("crowd.import")

WEB_WIDTH = 1400
THUMB_WIDTH = 240
JPEG_QUALITY = 82
THUMB_QUALITY = 78
# A page this many times taller than wide would make a huge bitmap at 1,400 px; cap the height.
MAX_PAGE_HEIGHT_PX = 1400 * 6
# Advisory-lock namespace (first key) for "this document is being imported right now".
_LOCK_NAMESPACE = 0x43524F57  # "CROW"
_CHUNK = 1024 * 1024


class ImportFailure(Exception):
    """A file that cannot be imported; the message is shown to editors as the reason."""


@dataclass(frozen=True)
class QueuedDocument:
    document: Document
    created: bool  # False when a document with the same bytes already existed


@dataclass(frozen=True)
class ImportResult:
    document_id: int
    status: str  # imported | failed | already_imported | busy
    page_count: int = 0
    error: str = ""
    seconds: float = 0.0


# --- Creating documents -----------------------------------------------------------------------


def sha256_of(fileobj: IO[bytes]) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(_CHUNK), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def title_from_filename(name: str) -> str:
    stem = Path(name).stem.replace("_", " ").replace("-", " ").strip()
    return " ".join(stem.split())[:300] or "Untitled document"


def document_create_from_path(
    *, path: Path, member: Member | None = None, title: str = "", queue: bool = True
) -> QueuedDocument:
    """Create (or find, by content hash) the document for the file at ``path``."""
    path = Path(path)
    with path.open("rb") as handle:
        return _document_create(fileobj=handle, filename=path.name, member=member, title=title, queue=queue)


def document_create_from_upload(
    *, upload: File, member: Member | None = None, title: str = "", queue: bool = True
) -> QueuedDocument:
    """Create (or find, by content hash) the document for an uploaded file (the admin form)."""
    return _document_create(
        fileobj=upload, filename=upload.name or "upload.pdf", member=member, title=title, queue=queue
    )


def _document_create(
    *, fileobj: IO[bytes], filename: str, member: Member | None, title: str, queue: bool
) -> QueuedDocument:
    sha = sha256_of(fileobj)
    existing = Document.objects.filter(sha256=sha).first()
    if existing is not None:
        return QueuedDocument(document=existing, created=False)
    document = Document(title=title.strip() or title_from_filename(filename), member=member, sha256=sha)
    # The source is stored before the row exists: on a lost race (same file imported twice at
    # once) the loser deletes its copy and returns the winner's document.
    document.source.save(get_valid_filename(Path(filename).name) or "document.pdf", File(fileobj), save=False)
    try:
        with transaction.atomic():
            document.save()
            if queue:
                document_queue_import(document_id=document.pk)
    except IntegrityError:
        default_storage.delete(document.source.name)
        return QueuedDocument(document=Document.objects.get(sha256=sha), created=False)
    return QueuedDocument(document=document, created=True)


def document_queue_import(*, document_id: int) -> None:
    """Queue the Celery import of a document once the current transaction commits."""
    transaction.on_commit(lambda: _enqueue(document_id))


def _enqueue(document_id: int) -> None:
    from reviews.tasks import import_document_task

    try:
        import_document_task.delay(document_id)
    except Exception as exc:
        # The document is committed as pending: a broker outage must not turn the upload into
        # an error. requeue_stalled_imports (Celery beat) sends it again once the broker is back.
        log.warning("could not queue the import of document %s: %r", document_id, exc)


def _queued_tasks() -> int | None:
    """Messages waiting in Celery's default queue (None when the broker cannot be asked)."""
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            # Declaring is idempotent (and creates the queue when nothing has used it yet).
            return conn.default_channel.queue_declare(
                queue=app.conf.task_default_queue, durable=True, auto_delete=False
            ).message_count
    except Exception:
        return None


def documents_requeue_stalled(*, older_than_seconds: int = 600) -> list[int]:
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
        with _import_lock(document_id) as free:
            if free:
                requeued.append(document_id)
    for document_id in requeued:
        _enqueue(document_id)
    return requeued


def document_reimport(*, document_id: int, queue: bool = True) -> bool:
    """Send a document that did not import back to the queue. False when it is already imported."""
    with transaction.atomic():
        updated = (
            Document.objects.filter(pk=document_id)
            .exclude(status=Document.Status.IMPORTED)
            .update(status=Document.Status.PENDING, error="")
        )
        if updated and queue:
            document_queue_import(document_id=document_id)
    return bool(updated)


def document_delete(*, document_id: int) -> None:
    """Delete a document with its pages (and their reviews), then its stored files after commit."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            return
        names = [name for row in document.pages.values_list("image", "thumbnail") for name in row if name]
        names.append(document.source.name)
        document.delete()
        # Files go only once the rows are gone for good: a rolled-back delete keeps its images.
        transaction.on_commit(lambda: _delete_files(names))


# --- Checking and rendering PDFs ---------------------------------------------------------------


def check_pdf_bytes(head: bytes, tail: bytes, size: int) -> None:
    """Cheap structural checks, before PDFium sees the file. Raises ImportFailure."""
    if size == 0:
        raise ImportFailure("The file is empty (0 bytes).")
    # The spec puts "%PDF-" first; readers accept it within the first 1 KiB.
    if b"%PDF-" not in head[:1024]:
        raise ImportFailure("Not a PDF: the file does not start with a %PDF- header.")
    # Every complete PDF ends with %%EOF (within the last 1 KiB). A download or copy cut short
    # loses it; PDFium would often "repair" such a file and silently drop its last pages.
    if b"%%EOF" not in tail[-1024:]:
        raise ImportFailure("The PDF is truncated: its end-of-file marker is missing.")


def _open_pdf(fileobj: IO[bytes]):
    import pypdfium2 as pdfium

    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    head = fileobj.read(1024)
    fileobj.seek(max(0, size - 1024))
    tail = fileobj.read(1024)
    fileobj.seek(0)
    check_pdf_bytes(head, tail, size)
    try:
        pdf = pdfium.PdfDocument(fileobj)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            raise ImportFailure(
                "The PDF is encrypted (password-protected); ask for an unlocked copy."
            ) from None
        if exc.err_code == pdfium.raw.FPDF_ERR_SECURITY:
            raise ImportFailure("The PDF uses an unsupported security handler (encryption).") from None
        import pypdfium2.internal as pdfium_i

        detail = pdfium_i.ErrorToStr.get(exc.err_code, "unknown error").lower()
        raise ImportFailure(f"The PDF is corrupt and cannot be opened (PDFium: {detail}).") from None
    if len(pdf) == 0:
        pdf.close()
        raise ImportFailure("The PDF has no pages.")
    return pdf


def inspect_pdf(fileobj: IO[bytes]) -> int:
    """Check that a file is a readable PDF; returns its page count or raises ImportFailure.

    Used by the admin upload form, so that a bad upload is refused before anything is stored.
    """
    pdf = _open_pdf(fileobj)
    try:
        return len(pdf)
    finally:
        pdf.close()
        fileobj.seek(0)


@dataclass(frozen=True)
class _Rendered:
    number: int
    image: bytes
    thumbnail: bytes
    width: int
    height: int


def _render_pages(pdf) -> Iterator[_Rendered]:
    from PIL import Image

    for index in range(len(pdf)):
        number = index + 1
        try:
            page = pdf[index]
            try:
                # get_width/get_height are the displayed size (after /Rotate), in points.
                width_pt, height_pt = page.get_size()
                if width_pt <= 0 or height_pt <= 0:
                    raise ImportFailure(f"Page {number} has an empty page box.")
                # pypdfium2 rounds the bitmap size up: aim a hair under so 1,400 stays 1,400.
                scale = min((WEB_WIDTH - 0.01) / width_pt, (MAX_PAGE_HEIGHT_PX - 0.01) / height_pt)
                image = page.render(scale=scale, may_draw_forms=True).to_pil()
            finally:
                page.close()
        except ImportFailure:
            raise
        except Exception as exc:  # PDFium raises on pages it cannot parse
            raise ImportFailure(f"Page {number} cannot be rendered ({exc}).") from None
        if image.mode != "RGB":
            image = image.convert("RGB")
        web = io.BytesIO()
        image.save(web, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
        thumb = image.copy()
        thumb.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 8), Image.Resampling.LANCZOS, reducing_gap=2.0)
        small = io.BytesIO()
        thumb.save(small, "JPEG", quality=THUMB_QUALITY, optimize=True)
        yield _Rendered(number, web.getvalue(), small.getvalue(), image.width, image.height)


# --- Importing ---------------------------------------------------------------------------------


def _page_dirs(document_id: int) -> tuple[str, str]:
    return f"pages/{document_id}", f"thumbs/{document_id}"


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)


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


@contextlib.contextmanager
def _import_lock(document_id: int) -> Iterator[bool]:
    """A Postgres session advisory lock: one import of a document at a time.

    Unlike a status flag, it cannot go stale: when a worker is killed mid-import its connection
    closes and Postgres releases the lock, so the redelivered task (acks_late) can start over.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, document_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, document_id])


def import_document(document_id: int) -> ImportResult:
    """Render and store every page of a document, then create its pages in one transaction.

    Safe to run again at any time: an imported document is left alone; anything else (pending,
    failed, or left "importing" by a killed worker, possibly with stray pages or files) is
    imported from scratch.
    """
    with _import_lock(document_id) as acquired:
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
    Document.objects.filter(pk=document_id).update(status=Document.Status.IMPORTING, error="")
    # Files a killed attempt stored but never committed rows for.
    kept = set()
    for image, thumb in Page.objects.filter(document_id=document_id).values_list("image", "thumbnail"):
        kept |= {image, thumb}
    _delete_files(_orphan_files(document_id, kept))

    stored: list[str] = []
    attempt = secrets.token_hex(4)  # new names each attempt: never overwrite a committed file
    pages_dir, thumbs_dir = _page_dirs(document_id)
    try:
        try:
            source = document.source.open("rb")
        except (FileNotFoundError, OSError) as exc:
            raise ImportFailure(f"The source file is missing from storage ({exc}).") from None
        with source:
            pdf = _open_pdf(source)
            try:
                pages = []
                for rendered in _render_pages(pdf):
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
        replaced = _commit_pages(document_id, pages)
    except ImportFailure as exc:
        _delete_files(stored)
        replaced = _mark_failed(document_id, str(exc))
        _delete_files(replaced)
        log.info("document %s failed to import: %s", document_id, exc)
        return ImportResult(document_id, "failed", error=str(exc), seconds=time.monotonic() - started)
    except BaseException:
        # Database or storage trouble (not the file's fault), or the worker being stopped: leave
        # no stray files; the document stays "importing" and a retry starts over.
        _delete_files(stored)
        raise
    _delete_files(replaced)
    elapsed = time.monotonic() - started
    log.info("document %s imported: %d pages in %.1fs", document_id, len(pages), elapsed)
    return ImportResult(document_id, "imported", page_count=len(pages), seconds=elapsed)


def _commit_pages(document_id: int, pages: list[Page]) -> list[str]:
    """Swap in the new pages in one transaction; returns files of replaced stray pages."""
    with transaction.atomic():
        replaced = _delete_pages(document_id)
        Page.objects.bulk_create(pages, batch_size=500)
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.IMPORTED,
            page_count=len(pages),
            error="",
            imported_at=timezone.now(),
        )
        transaction.on_commit(lambda: _send_imported(document_id))
    return replaced


def _mark_failed(document_id: int, reason: str) -> list[str]:
    with transaction.atomic():
        replaced = _delete_pages(document_id)
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.FAILED, error=reason, page_count=0, imported_at=None
        )
    return replaced


def _delete_pages(document_id: int) -> list[str]:
    """Delete stray pages of an unfinished attempt (never of an imported document)."""
    rows = list(Page.objects.filter(document_id=document_id).values_list("image", "thumbnail"))
    if rows:
        Page.objects.filter(document_id=document_id).delete()
    return [name for row in rows for name in row if name]


def _send_imported(document_id: int) -> None:
    for receiver, result in signals.document_imported.send_robust(sender=Document, document_id=document_id):
        if isinstance(result, Exception):
            log.warning("document_imported receiver %r failed: %r", receiver, result)
