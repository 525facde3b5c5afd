"""End to end: a scanned PDF (text rasterised into an image, no text layer) is imported and
OCR'd by a real Celery worker (in a thread of this process, consuming the default and the
``ocr`` queues through the real Redis broker) running real Tesseract; /search/ then finds its
words, and the hit opens the page with the words marked on the scan."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from catalogue.actions import documents
from catalogue.models import Document, Page
from search.models import PageText
from tests.search.support import scanned_pdf


@pytest.mark.django_db(transaction=True)
def test_a_scanned_pdf_is_ocrd_by_a_real_worker_and_found_by_search(tmp_path, media_root):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf(["Receipt for the floating duck island", "Invoice for moat dredging"]))
    with start_worker(
        app, perform_ping_check=False, pool="solo", shutdown_timeout=30, queues=["celery", "ocr"]
    ):
        document = documents.create_document_from_path(path=path).document
        # Wait for the worker (a deadline, not a timing assertion).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = PageText.objects.filter(page__document=document, status=PageText.Status.DONE).count()
            if done == 2:
                break
            time.sleep(0.2)
    document.refresh_from_db()
    assert document.status == Document.Status.IMPORTED, document.error
    rows = list(PageText.objects.filter(page__document=document).order_by("page__number"))
    assert [r.status for r in rows] == ["done", "done"], [(r.status, r.reason) for r in rows]
    assert all(r.source == PageText.Source.OCR and r.engine == "tesseract" for r in rows)
    from moderation.actions.embargo import publish_document

    publish_document(document, by=None)  # a fresh upload is staff-only until published (issue 22)
    client = Client()
    response = client.get("/search/", {"q": "floating duck", "pages": "all"})
    hits = response.context["results"].pages
    first = Page.objects.get(document=document, number=1)
    assert [h.page.pk for h in hits] == [first.pk]
    response = client.get("/search/", {"q": '"moat dredging"', "pages": "all"})
    assert [h.page.number for h in response.context["results"].pages] == [2]
    # The hit opens the page with the words marked on the scan (boxes) and in the text.
    page_view = client.get(f"/pages/{first.pk}/", {"q": "floating duck"})
    html = page_view.content.decode()
    assert html.count('class="word-mark"') == 2
    assert "<mark>floating</mark>" in html.lower() or "<mark>Floating</mark>" in html
