"""PDF checking and rendering: bytes in, page images out. Pure: no database, no storage.

The importer (:mod:`catalogue.importer`) and the admin's upload form use it; so can a test without
a database. Bad files (empty, not a PDF, truncated, corrupt, password-protected) raise
:class:`ImportFailure` with a reason a newsroom can act on.

Image format: JPEG (quality 82, progressive), not PNG. Released pages are scans: photographs of
paper with grain, stamps and hand-writing. PNG compresses that noise badly (typically 1-3 MB for
a 1,400 px page) while a JPEG of the same page is ~10x smaller with no visible loss at reading
size, and progressive JPEGs show a readable preview while they download, which matters on a
review screen that serves a new page every few seconds.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

WEB_WIDTH = 1400
THUMB_WIDTH = 240
JPEG_QUALITY = 82
THUMB_QUALITY = 78
# A page this many times taller than wide would make a huge bitmap at 1,400 px; cap the height.
MAX_PAGE_HEIGHT_PX = 1400 * 6
_CHUNK = 1024 * 1024


class ImportFailure(Exception):
    """A file that cannot be imported; the message is shown to editors as the reason."""


@dataclass(frozen=True)
class RenderedPage:
    number: int
    image: bytes  # JPEG, WEB_WIDTH wide
    thumbnail: bytes  # JPEG, THUMB_WIDTH wide
    width: int
    height: int
    # The page's embedded text layer ("" for a scan) and its words' boxes in the web image's
    # pixels, [[word, x, y, w, h], ...]: search stores them (search.actions), OCR fills scans.
    text: str = ""
    words: tuple = ()


# Fewer letters than this on a page means no usable text layer (a scan, or a scanner's stray
# marks): the page goes to OCR instead.
MIN_LAYER_LETTERS = 12


def page_text_and_words(page, scale: float, height_pt: float) -> tuple[str, list[list]]:
    """The text layer of an open pdfium page and its words' boxes scaled to the rendered image
    (origin top left). One pass over the characters; a word's box is the union of its
    characters' boxes. ("", []) when the page has no usable text layer (a scan)."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count <= 0:
            return "", []
        text = textpage.get_text_range(0, count).replace("\r\n", "\n").replace("\r", "\n")
        if sum(ch.isalnum() for ch in text) < MIN_LAYER_LETTERS:
            return "", []
        words: list[list] = []
        current: list[str] = []
        box = None
        # Read char by char: get_text_range's string need not line up with the char indices
        # (pdfium inserts line ends it inferred), and the boxes are per char index.
        for index in range(count):
            code = pdfium_c.FPDFText_GetUnicode(textpage, index)
            char = chr(code) if 0 < code < 0x110000 else " "
            if char.isspace() or code in (0xFFFE, 0xFFFF, 2):
                if current and box:
                    words.append(_word(current, box, scale, height_pt))
                current, box = [], None
                continue
            left, bottom, right, top = textpage.get_charbox(index)
            current.append(char)
            if box is None:
                box = (left, bottom, right, top)
            else:
                box = (min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top))
        if current and box:
            words.append(_word(current, box, scale, height_pt))
        return text, words
    finally:
        textpage.close()


def _word(chars: list[str], box, scale: float, height_pt: float) -> list:
    left, bottom, right, top = box
    return [
        "".join(chars),
        round(left * scale),
        round((height_pt - top) * scale),
        max(1, round((right - left) * scale)),
        max(1, round((top - bottom) * scale)),
    ]


def sha256_of(fileobj: IO[bytes]) -> str:
    """The hex sha256 of a file's bytes (documents are deduplicated by it); rewinds the file."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(_CHUNK), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def title_from_filename(name: str) -> str:
    stem = Path(name).stem.replace("_", " ").replace("-", " ").strip()
    return " ".join(stem.split())[:300] or "Untitled document"


def check_pdf_filename(name: str) -> None:
    """Only ``.pdf`` files are imported (the name is a hint for a title, never a stored name)."""
    if Path(str(name or "")).suffix.lower() != ".pdf":
        raise ImportFailure("Only PDF files can be imported: the file name must end in .pdf.")


def check_pdf_bytes(head: bytes, tail: bytes, size: int) -> None:
    """Cheap structural checks, before PDFium sees the file. Raises ImportFailure."""
    if size == 0:
        raise ImportFailure("The file is empty (0 bytes).")
    # The spec puts "%PDF-" first. Readers tolerate it anywhere in the first 1 KiB, which lets a
    # file be an HTML page and a PDF at once (a polyglot): only the magic bytes at 0 are accepted.
    if not head.startswith(b"%PDF-"):
        raise ImportFailure("Not a PDF: the file does not start with a %PDF- header.")
    # Every complete PDF ends with %%EOF (within the last 1 KiB). A download or copy cut short
    # loses it; PDFium would often "repair" such a file and silently drop its last pages.
    if b"%%EOF" not in tail[-1024:]:
        raise ImportFailure("The PDF is truncated: its end-of-file marker is missing.")


def open_pdf(fileobj: IO[bytes]):
    """The file as an open ``pypdfium2.PdfDocument`` with at least one page (the caller closes
    it), or ImportFailure saying why not."""
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
    pdf = open_pdf(fileobj)
    try:
        return len(pdf)
    finally:
        pdf.close()
        fileobj.seek(0)


def _web_scale(width_pt: float, height_pt: float) -> float:
    # pypdfium2 rounds the bitmap size up: aim a hair under so 1,400 stays 1,400.
    return min((WEB_WIDTH - 0.01) / width_pt, (MAX_PAGE_HEIGHT_PX - 0.01) / height_pt)


def extract_texts(pdf) -> Iterator[tuple[int, str, list[list]]]:
    """(page number, text layer, word boxes in web-image pixels) for each page of an open PDF,
    without rendering: what the search app reads again when an import's text went missing.
    A page pdfium cannot parse gives ("", [])."""
    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except Exception:
            yield index + 1, "", []
            continue
        try:
            width_pt, height_pt = page.get_size()
            if width_pt <= 0 or height_pt <= 0:
                yield index + 1, "", []
                continue
            text, words = page_text_and_words(page, _web_scale(width_pt, height_pt), height_pt)
        except Exception:
            text, words = "", []
        finally:
            page.close()
        yield index + 1, text, words


def render_pages(pdf) -> Iterator[RenderedPage]:
    """Render each page of an open PDF to a web JPEG and a thumbnail, one page at a time."""
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
                scale = _web_scale(width_pt, height_pt)
                image = page.render(scale=scale, may_draw_forms=True).to_pil()
                text, words = page_text_and_words(page, scale, height_pt)
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
        yield RenderedPage(
            number, web.getvalue(), small.getvalue(), image.width, image.height, text, tuple(words)
        )
