"""Real PDF files for import tests, good and bad, made with reportlab (no fixtures on disk)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas


def pdf_bytes(
    pages: int = 3, *, sizes=None, rotate: dict[int, int] | None = None, password: str = ""
) -> bytes:
    """A PDF with ``pages`` pages (A4 portrait unless ``sizes`` says otherwise)."""
    import io

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, encrypt=password or None)
    for index in range(pages):
        size = (sizes or [A4] * pages)[index]
        c.setPageSize(size)
        c.setPageRotation((rotate or {}).get(index + 1, 0))
        c.setFont("Helvetica", 24)
        c.drawString(72, size[1] - 100, f"Claim form, page {index + 1}")
        c.rect(72, 72, size[0] - 144, 100)
        c.showPage()
    c.save()
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def bad_files() -> dict[str, tuple[bytes, str]]:
    """Bad file name -> (bytes, a phrase the failure reason must contain)."""
    good = pdf_bytes(5)
    return {
        "empty.pdf": (b"", "empty"),
        "not-a-pdf.pdf": (b"Date,Amount\n2009-05-01,12.50\n" * 40, "Not a PDF"),
        "truncated.pdf": (good[: len(good) // 2], "truncated"),
        "corrupt.pdf": (b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n", "corrupt"),
        "encrypted.pdf": (pdf_bytes(2, password="s3cret"), "password-protected"),
    }


__all__ = ["A4", "landscape", "pdf_bytes", "write", "bad_files"]
