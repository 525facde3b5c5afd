"""``manage.py ocr_pages [--document ID] [--missing] [--force] [--sync]``: (re-)run text work.

A thin shell over :mod:`search.actions` and :mod:`search.pipeline`:

- ``--missing``: pages without a text row get one (text layer read again from the source, else
  queued for OCR);
- default: pages without text (never OCR'd, failed, found empty) are queued for OCR again;
- ``--force``: every selected page is OCR'd again, text layers included;
- ``--sync``: OCR the queued pages in this process instead of leaving them to the ``ocr`` worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalogue.models import Document, Page
from search import actions, pipeline


class Command(BaseCommand):
    help = "Queue pages for OCR (or give pages without a text row one). See README, Search and OCR."

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, help="only this document's pages")
        parser.add_argument("--missing", action="store_true", help="only pages without a text row")
        parser.add_argument("--force", action="store_true", help="OCR again even pages that have text")
        parser.add_argument("--sync", action="store_true", help="run the OCR here, not in the worker")

    def handle(self, *args, document=None, missing=False, force=False, sync=False, **options):
        if missing and force:
            raise CommandError("--missing and --force cannot be combined.")
        if document is not None and not Document.objects.filter(pk=document).exists():
            raise CommandError(f"No document with id {document}.")
        pages = Page.objects.all()
        if document is not None:
            pages = pages.filter(document_id=document)
        if missing:
            documents = pages.filter(text__isnull=True).values_list("document_id", flat=True).distinct()
            queued = 0
            for document_id in documents.iterator():
                queued += len(pipeline.record_missing_texts(document_id))
        else:
            queued = actions.queue_ocr(page_ids=pages.values_list("pk", flat=True), force=force)
        self.stdout.write(f"queued {queued} page(s) for OCR")
        if sync:
            counts: dict[str, int] = {}
            while True:
                outcome = pipeline.ocr_next_page()
                if outcome.page_id is None:
                    break
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            self.stdout.write(
                "OCR: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do")
            )
