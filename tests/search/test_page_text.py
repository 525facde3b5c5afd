"""Text for every page: text layers at import, OCR for scans, failures with reasons."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from catalogue.models import Page
from denorm import registry
from search import actions, pipeline
from search.models import PageText
from tests.search.support import import_pdf, scanned_pdf, text_pdf

pytestmark = pytest.mark.django_db


def test_a_text_pdf_gets_its_text_layer_at_import_without_ocr(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(
            tmp_path,
            "a.pdf",
            text_pdf(["Duck house invoice\nMoat cleaning 2008", "Second page of expenses here"]),
        )
    texts = {
        t.page.number: t for t in PageText.objects.filter(page__document=document).select_related("page")
    }
    assert set(texts) == {1, 2}
    first = texts[1]
    assert first.source == PageText.Source.LAYER and first.status == PageText.Status.DONE
    assert "Duck house invoice" in first.text and "Moat cleaning 2008" in first.text
    assert first.engine == "pdfium" and first.version
    # Word boxes in the page image's pixels, inside the image.
    words = {w[0]: w for w in first.boxes}
    assert {"Duck", "house", "invoice", "Moat"} <= set(words)
    page = first.page
    for _word, x, y, w, h in first.boxes:
        assert x >= 0 and x + w <= page.width and y >= 0 and y + h <= page.height
    # "Duck" is left of "house", on the same line; "Moat" is on a lower line.
    assert words["Duck"][1] < words["house"][1] and words["Duck"][2] < words["Moat"][2]
    # Nothing waits for OCR.
    assert not PageText.objects.filter(status=PageText.Status.PENDING).exists()


def test_a_scanned_page_is_queued_then_ocrd_with_word_boxes(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(tmp_path, "scan.pdf", scanned_pdf(["Receipt for a duck house\nPaid in cash"]))
    row = PageText.objects.get(page__document=document)
    assert row.status == PageText.Status.PENDING and row.text == ""
    # The page is reviewable before OCR: it exists, imported, with its image.
    assert Page.objects.filter(document=document).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        outcome = pipeline.ocr_next_page()
    assert outcome.status == "done"
    row.refresh_from_db()
    assert row.source == PageText.Source.OCR and row.status == PageText.Status.DONE
    assert "duck house" in row.text.lower()
    assert row.engine == "tesseract" and row.version
    words = [w[0].lower() for w in row.boxes]
    assert "receipt" in words and "cash" in words
    assert pipeline.ocr_next_page().status == "idle"


def test_featured_pages_are_ocrd_first(tmp_path, media_root, django_capture_on_commit_callbacks):
    from tests import factories

    with django_capture_on_commit_callbacks(execute=True):
        plain = import_pdf(tmp_path, "plain.pdf", scanned_pdf(["Plain page"]))
        featured_doc = import_pdf(tmp_path, "featured.pdf", scanned_pdf(["Featured page"]))
    factories.make_assignment(documents=[featured_doc], featured="main")
    plain_page, featured_page = (Page.objects.get(document=d).pk for d in (plain, featured_doc))
    with django_capture_on_commit_callbacks(execute=True):
        actions.queue_ocr(page_ids=[plain_page, featured_page])
    assert actions.claim_next_page() == featured_page
    assert actions.claim_next_page() == plain_page


def test_an_unreadable_image_is_recorded_with_a_reason_and_not_retried(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(tmp_path, "scan.pdf", scanned_pdf(["Anything"]))
    page = Page.objects.get(document=document)
    (media_root / page.image.name).write_bytes(b"not an image at all")
    outcome = pipeline.ocr_next_page()
    assert outcome.status == "failed"
    row = PageText.objects.get(page=page)
    assert row.status == PageText.Status.FAILED and "could not read" in row.reason
    # Not retried by itself, and the page is still there to review.
    assert pipeline.ocr_next_page().status == "idle"
    assert Page.objects.filter(pk=page.pk, withdrawn_at__isnull=True).exists()


def test_a_timeout_is_recorded_with_a_reason(
    tmp_path, media_root, settings, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(tmp_path, "scan.pdf", scanned_pdf(["Anything at all"]))
    # A real Tesseract made slow: the timeout is per page, and a tiny one stops it.
    settings.OCR_TIMEOUT_SECONDS = 0.001
    outcome = pipeline.ocr_next_page()
    assert outcome.status == "failed"
    row = PageText.objects.get(page__document=document)
    assert "OCR_TIMEOUT_SECONDS" in row.reason


def test_an_empty_page_is_done_with_a_reason(tmp_path, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(tmp_path, "blank.pdf", scanned_pdf([""]))
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.ocr_next_page().status == "done"
    row = PageText.objects.get(page__document=document)
    assert row.status == PageText.Status.DONE and row.text == ""
    assert "no text" in row.reason


def test_ocr_pages_command_missing_force_and_document(
    tmp_path, media_root, django_capture_on_commit_callbacks, capsys
):
    document = import_pdf(tmp_path, "a.pdf", text_pdf(["Text layer words here for the test"]))
    # Without on-commit callbacks the import's texts never arrived: --missing recovers them.
    assert not PageText.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ocr_pages", "--missing")
    row = PageText.objects.get(page__document=document)
    assert row.source == PageText.Source.LAYER and "Text layer words" in row.text
    # The default leaves pages with text alone; --force OCRs them again, here in process.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ocr_pages", "--document", str(document.pk))
    assert "queued 0" in capsys.readouterr().out
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ocr_pages", "--document", str(document.pk), "--force", "--sync")
    row.refresh_from_db()
    assert row.source == PageText.Source.OCR and "layer" in row.text.lower()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("ocr_pages", "--document", "999999")
    with pytest.raises(CommandError):
        call_command("ocr_pages", "--missing", "--force")


def test_the_search_vector_is_registered_checked_and_repaired(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    from django.db import connection

    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(tmp_path, "a.pdf", text_pdf(["Moat cleaning invoice"]), title="Expenses 2008")
    entry = registry.get("page-search-vector")
    assert entry.check().ok
    page_id = Page.objects.get(document=document).pk
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE search_pagetext SET search_vector = to_tsvector('english', 'broken') WHERE page_id = %s",
            [page_id],
        )
    drift = entry.check()
    assert drift.wrong == 1 and not drift.ok
    assert entry.repair().wrong == 1
    assert entry.check().ok
    # A title edit reaches the vector after commit.
    from catalogue.actions import documents

    with django_capture_on_commit_callbacks(execute=True):
        documents.update_document(document_id=document.pk, title="Duck pond", member_id=None)
    assert entry.check().ok
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM search_pagetext WHERE search_vector @@ websearch_to_tsquery('english', 'duck pond')"
        )
        assert cursor.fetchone()[0] == 1
