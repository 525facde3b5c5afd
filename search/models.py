"""The text of every page: one row per page, the truth search reads.

``PageText`` is written only by :mod:`search.actions` (the import's text layer, OCR results and
failures). ``search_vector`` is not the truth: it is the registered denormalisation
``page-search-vector`` (:mod:`search.denormalisations`), the text (weight B) with the document's
title and member's name (weight A), written after commit and repaired by the periodic check.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from catalogue.models import Page


class PageText(models.Model):
    class Source(models.TextChoices):
        LAYER = "layer", "Text layer"
        OCR = "ocr", "OCR"
        NONE = "none", "None yet"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for OCR"
        RUNNING = "running", "OCR running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    page = models.OneToOneField(Page, on_delete=models.CASCADE, primary_key=True, related_name="text")
    text = models.TextField(blank=True)
    # Word boxes in the page image's pixels (``Page.width`` x ``Page.height``, origin top left):
    # [[word, x, y, w, h], ...]. A list of lists in JSONB is about a third of the size of one
    # object per word, and the page view sends only the boxes of the words searched for.
    boxes = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.NONE)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True)  # why OCR failed or found nothing
    engine = models.CharField(max_length=40, blank=True)  # "pdfium" or "tesseract"
    version = models.CharField(max_length=40, blank=True)
    # OCR order: pages of featured assignments first (1), then the rest (0); then by page id.
    priority = models.SmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)
    # Denormalised (registry entry ``page-search-vector``): never written by the actions.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="pagetext_search_gin"),
            # The OCR queue: the next pending page, featured first (search.actions.claim_next_page).
            models.Index(
                fields=["-priority", "page"], condition=Q(status="pending"), name="pagetext_ocr_queue_idx"
            ),
            models.Index(fields=["status", "updated"], name="pagetext_status_idx"),
        ]

    def __str__(self) -> str:
        return f"text of page {self.page_id} ({self.source}, {self.status})"
