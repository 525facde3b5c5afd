"""Writes of page text: the import's text layers, the OCR queue, OCR results and failures.

Every write to ``PageText`` is here. Each action refreshes the pages' search vectors after
commit (registry entry ``page-search-vector``, :mod:`search.denormalisations`).

The OCR queue is the table itself: a page waiting for OCR is a ``pending`` row with a
``priority`` (1 when the page is in a featured assignment). Each Celery message on the ``ocr``
queue is a token, "OCR one page"; the task claims the best pending page when it runs
(:func:`claim_next_page`, ``FOR UPDATE SKIP LOCKED``). So featured pages go first even when
they arrive behind a backlog of thousands, which per-page messages in a FIFO queue could not do,
and a lost or duplicated token costs nothing: a duplicate finds nothing to claim, a lost one is
replaced by :func:`requeue_stalled_ocr` (Celery beat). A page is reviewable from its import on;
OCR only adds text, whenever it comes.

Bad input never storms: a failure (unreadable image, timeout, missing image) is recorded with
its reason and not retried; a page whose worker died mid-OCR goes back to pending at most
``MAX_ATTEMPTS`` times, then fails with a reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import timedelta

import pypdfium2
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assignments import scope as assignment_scope
from assignments.models import Assignment
from catalogue.models import Page
from lib.celery_app import celery_app
from lib.sql_names import compose
from search.denormalisations import refresh_after_commit
from search.models import PageText
from search.signals import page_text_changed

TABLES = {
    "pagetext": PageText,
}

log = logging.getLogger("crowd.search")

OCR_TASK = "search.tasks.ocr_next_page_task"
OCR_QUEUE = "ocr"
MAX_ATTEMPTS = 3
LAYER_ENGINE = "pdfium"


# Characters that XML (feeds), Postgres (NUL) or a reader cannot take: control characters other
# than tab and newline, non-characters and lone surrogates.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def clean_text(text: str) -> str:
    return _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _layer_version() -> str:
    return f"pypdfium2 {pypdfium2.PYPDFIUM_INFO}"


def _featured_page_ids(page_ids: list[int]) -> set[int]:
    """Which of these pages are in a featured, active assignment (OCR'd first)."""
    featured = list(
        Assignment.objects.filter(active=True)
        .exclude(featured=Assignment.Featured.NONE)
        .values_list("pk", flat=True)
    )
    found: set[int] = set()
    for assignment_id in featured:
        found |= set(
            Page.objects.filter(assignment_scope.page_filter(assignment_id), pk__in=page_ids).values_list(
                "pk", flat=True
            )
        )
    return found


def record_page_texts(*, document_id: int, texts: dict[int, tuple[str, Iterable]]) -> list[int]:
    """Store the text layers of a freshly imported document's pages (by page number) and queue
    OCR for the pages without one. Pages that already have a text row are left alone. Returns
    the ids of the pages queued for OCR."""
    with transaction.atomic():
        pages = list(
            Page.objects.filter(document_id=document_id, text__isnull=True).values_list("pk", "number")
        )
        if not pages:
            return []
        version = _layer_version()
        rows, scans = [], []
        for page_id, number in pages:
            text, words = texts.get(number, ("", ()))
            text = clean_text(text)
            if text.strip():
                rows.append(
                    PageText(
                        page_id=page_id,
                        text=clean_text(text),
                        boxes=[list(w) for w in words],
                        source=PageText.Source.LAYER,
                        status=PageText.Status.DONE,
                        engine=LAYER_ENGINE,
                        version=version,
                    )
                )
            else:
                scans.append(page_id)
        featured = _featured_page_ids(scans) if scans else set()
        rows += [
            PageText(page_id=page_id, status=PageText.Status.PENDING, priority=int(page_id in featured))
            for page_id in scans
        ]
        PageText.objects.bulk_create(rows, ignore_conflicts=True)
        refresh_after_commit([page_id for page_id, _ in pages])
        _announce_after_commit([page_id for page_id, _ in pages])
        _queue_tokens_after_commit(len(scans))
    return scans


def queue_ocr(*, page_ids: Iterable[int], force: bool = False) -> int:
    """Put pages back in the OCR queue: those without text (never OCR'd, failed, or found
    empty), or with ``force`` any page, text layer included (its text is replaced by OCR's).
    Pages with no text row yet get one. Returns how many were queued."""
    ids = sorted(set(page_ids))
    queued = 0
    with transaction.atomic():
        existing = set(PageText.objects.filter(page_id__in=ids).values_list("page_id", flat=True))
        missing = [pid for pid in ids if pid not in existing]
        featured = _featured_page_ids(ids) if ids else set()
        PageText.objects.bulk_create(
            [
                PageText(page_id=pid, status=PageText.Status.PENDING, priority=int(pid in featured))
                for pid in missing
            ],
            ignore_conflicts=True,
        )
        queued += len(missing)
        # Waiting pages keep their place in the queue but take the priority they have now.
        waiting = PageText.objects.filter(page_id__in=existing, status=PageText.Status.PENDING)
        waiting.filter(page_id__in=featured).exclude(priority=1).update(priority=1)
        waiting.exclude(page_id__in=featured).exclude(priority=0).update(priority=0)
        again = PageText.objects.filter(page_id__in=existing).exclude(status=PageText.Status.RUNNING)
        if not force:
            again = (
                again.exclude(source=PageText.Source.LAYER)
                .exclude(status=PageText.Status.PENDING)
                .filter(text="")
            )
        for priority in (0, 1):
            queued += again.filter(
                page_id__in=[pid for pid in existing if (pid in featured) == bool(priority)]
            ).update(
                status=PageText.Status.PENDING,
                priority=priority,
                reason="",
                attempts=0,
                updated=timezone.now(),
            )
        refresh_after_commit(missing)
        _queue_tokens_after_commit(queued)
    return queued


def prioritise_assignment_ocr(*, assignment_id: int) -> int:
    """The waiting pages of a (newly) featured assignment go to the front of the OCR queue."""
    with transaction.atomic():
        return PageText.objects.filter(
            status=PageText.Status.PENDING,
            priority=0,
            page_id__in=Page.objects.filter(assignment_scope.page_filter(assignment_id)).values("pk"),
        ).update(priority=1)


def claim_next_page() -> int | None:
    """Take the best pending page for OCR (featured first, then oldest page), marking it running.
    None when nothing waits. Two workers never claim the same page (SKIP LOCKED)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            compose(
                "UPDATE {pagetext} SET status = 'running', attempts = attempts + 1, updated = now()"
                " WHERE page_id = (SELECT page_id FROM {pagetext} WHERE status = 'pending'"
                " ORDER BY priority DESC, page_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING page_id",
                **TABLES,
            )
        )
        row = cursor.fetchone()
    return row[0] if row else None


def finish_ocr(
    *, page_id: int, text: str, words: list[list], version: str, engine: str = "tesseract"
) -> bool:
    """Record OCR's text and word boxes for a page. An empty result is recorded as done with a
    reason (a blank page is not an error). False when the page or its row is gone."""
    text = clean_text(text)
    with transaction.atomic():
        updated = PageText.objects.filter(page_id=page_id).update(
            text=text,
            boxes=words,
            source=PageText.Source.OCR,
            status=PageText.Status.DONE,
            reason="" if text.strip() else "OCR found no text on this page (blank or a picture).",
            engine=engine,
            version=version,
            updated=timezone.now(),
        )
        refresh_after_commit([page_id] if updated else [])
        if updated:
            _announce_after_commit([page_id])
    return bool(updated)


def fail_ocr(*, page_id: int, reason: str, engine: str = "tesseract", version: str = "") -> bool:
    """Record why OCR could not read a page. Not retried (``ocr_pages`` re-runs it on demand);
    the page stays reviewable and searchable by its title and member."""
    with transaction.atomic():
        updated = PageText.objects.filter(page_id=page_id).update(
            status=PageText.Status.FAILED,
            reason=reason[:300],
            engine=engine,
            version=version,
            updated=timezone.now(),
        )
    return bool(updated)


def requeue_stalled_ocr(*, older_than_seconds: int | None = None) -> int:
    """Celery beat: pages left running by a worker that died go back to pending (after
    ``MAX_ATTEMPTS`` they fail with a reason instead), and when the ``ocr`` queue is empty while
    pages wait (their tokens were lost, e.g. the broker was down) tokens are sent again. Returns
    the number of tokens sent."""
    older_than = older_than_seconds if older_than_seconds is not None else settings.OCR_TIMEOUT_SECONDS * 3
    cutoff = timezone.now() - timedelta(seconds=older_than)
    with transaction.atomic():
        stalled = PageText.objects.filter(status=PageText.Status.RUNNING, updated__lt=cutoff)
        stalled.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=PageText.Status.FAILED,
            reason=f"OCR stopped {MAX_ATTEMPTS} times without finishing (worker lost); not retried.",
            updated=timezone.now(),
        )
        stalled.filter(attempts__lt=MAX_ATTEMPTS).update(
            status=PageText.Status.PENDING, updated=timezone.now()
        )
    waiting = PageText.objects.filter(status=PageText.Status.PENDING).count()
    if waiting and _queued_tokens() == 0:
        tokens = min(waiting, 5000)
        _send_tokens(tokens)
        return tokens
    return 0


def _announce_after_commit(page_ids: list[int]) -> None:
    def send() -> None:
        for receiver, result in page_text_changed.send_robust(sender=PageText, page_ids=page_ids):
            if isinstance(result, Exception):
                log.warning("page_text_changed receiver %r failed: %r", receiver, result)

    transaction.on_commit(send)


def _queued_tokens() -> int | None:
    try:
        with celery_app().connection_for_write() as conn:
            return conn.default_channel.queue_declare(
                queue=OCR_QUEUE, durable=True, auto_delete=False
            ).message_count
    except Exception:
        return None


def _queue_tokens_after_commit(count: int) -> None:
    if count > 0:
        transaction.on_commit(lambda: _send_tokens(count))


def _send_tokens(count: int) -> None:
    try:
        for _ in range(count):
            celery_app().send_task(OCR_TASK, queue=OCR_QUEUE)
    except Exception as exc:
        # The pages stay pending: requeue_stalled_ocr sends tokens again once the broker is back.
        log.warning("could not queue OCR (%d pages): %r", count, exc)
