"""PDFs for the search tests, made in the test: text PDFs (reportlab, with a text layer) and
scanned PDFs (text rasterised into an image with Pillow, embedded into a PDF with no text
layer), and imports run as the worker runs them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with a real text layer: one page per string, lines split on newlines."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for text in pages:
        c.setFont("Helvetica", 14)
        y = A4[1] - 90
        for line in text.split("\n"):
            c.drawString(72, y, line)
            y -= 22
        c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(pages: list[str]) -> bytes:
    """A PDF of page images only (no text layer): each string drawn into a white page image."""
    font = ImageFont.truetype(FONT, 34)
    images = []
    for text in pages:
        image = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(image)
        y = 140
        for line in text.split("\n"):
            draw.text((110, y), line, fill="black", font=font)
            y += 60
        images.append(image)
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=150.0, save_all=True, append_images=images[1:])
    return buf.getvalue()


def import_pdf(
    tmp_path: Path, name: str, data: bytes, *, member=None, title: str = "", published: bool = True
):
    """Create and import a document inline (as the worker would), with on-commit callbacks run
    by the caller's capture (the text rows are written after the import commits). ``published``:
    the editors lift its embargo (a fresh upload is staff-only: issue 22), so the public sees it."""
    from catalogue import importer
    from catalogue.actions import documents

    path = tmp_path / name
    path.write_bytes(data)
    document = documents.create_document_from_path(
        path=path, member=member, title=title, queue=False
    ).document
    result = importer.import_document(document.pk)
    assert result.status == "imported", result.error
    document.refresh_from_db()
    if published:
        from moderation.actions.embargo import publish_document

        publish_document(document, by=None)
        document.refresh_from_db()
    return document
