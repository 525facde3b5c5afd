"""Running text work: OCR of the next page in the queue, and text layers read again from a
document's source. Reads files, calls the pure parts (:mod:`search.ocr`, :mod:`catalogue.pdf`)
and records outcomes only through :mod:`search.actions`. Tasks and the command call these."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from catalogue.models import Document, Page
from catalogue.pdf import ImportFailure, extract_texts, open_pdf
from search import actions
from search.ocr import ENGINE, OcrFailure, ocr_image, tesseract_version

log = logging.getLogger("crowd.search")


@dataclass(frozen=True)
class OcrOutcome:
    page_id: int | None  # None: nothing was waiting
    status: str  # done | failed | gone | idle
    reason: str = ""


def ocr_next_page() -> OcrOutcome:
    """Claim the best pending page and OCR its stored image. Never raises for the page's sake:
    a bad image or a timeout is recorded as the page's failure."""
    page_id = actions.claim_next_page()
    if page_id is None:
        return OcrOutcome(None, "idle")
    return ocr_claimed_page(page_id)


def ocr_claimed_page(page_id: int) -> OcrOutcome:
    page = Page.objects.filter(pk=page_id).only("image").first()
    if page is None:
        return OcrOutcome(page_id, "gone")
    try:
        try:
            with page.image.open("rb") as handle:
                image = handle.read()
        except (FileNotFoundError, OSError, ValueError) as exc:
            raise OcrFailure(f"The page image cannot be read ({type(exc).__name__}).") from None
        result = ocr_image(image, timeout=settings.OCR_TIMEOUT_SECONDS)
    except OcrFailure as exc:
        actions.fail_ocr(page_id=page_id, reason=str(exc), engine=ENGINE, version=tesseract_version())
        log.info("OCR of page %s failed: %s", page_id, exc)
        return OcrOutcome(page_id, "failed", str(exc))
    actions.finish_ocr(page_id=page_id, text=result.text, words=result.words, version=result.version)
    return OcrOutcome(page_id, "done")


def texts_from_source(document_id: int) -> dict[int, tuple[str, list]]:
    """Each page's text layer read again from the document's stored PDF ({} when the source
    cannot be read: its pages then go to OCR)."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not document.source:
        return {}
    try:
        with document.source.open("rb") as source:
            pdf = open_pdf(source)
            try:
                return {number: (text, words) for number, text, words in extract_texts(pdf)}
            finally:
                pdf.close()
    except (ImportFailure, OSError, ValueError) as exc:
        log.info("text layers of document %s not readable: %s", document_id, exc)
        return {}


def record_missing_texts(document_id: int, texts: dict | None = None) -> list[int]:
    """Give every page of a document its text row: from ``texts`` (the import's) when given,
    else read again from the source; pages without a text layer are queued for OCR."""
    if texts is None:
        texts = texts_from_source(document_id)
    return actions.record_page_texts(document_id=document_id, texts=texts)
