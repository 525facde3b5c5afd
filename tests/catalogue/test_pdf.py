"""PDF checking and rendering (catalogue.pdf) on its own: no database, no storage."""

import io

import pytest
from PIL import Image

from catalogue import pdf
from tests.catalogue.pdf_samples import A4, bad_files, landscape, pdf_bytes


def test_it_renders_every_page_to_a_web_jpeg_and_a_thumbnail():
    document = pdf.open_pdf(io.BytesIO(pdf_bytes(2, sizes=[A4, landscape(A4)])))
    try:
        pages = list(pdf.render_pages(document))
    finally:
        document.close()
    assert [p.number for p in pages] == [1, 2]
    for page in pages:
        image = Image.open(io.BytesIO(page.image))
        thumb = Image.open(io.BytesIO(page.thumbnail))
        assert image.format == thumb.format == "JPEG"
        assert image.size == (page.width, page.height) and page.width == pdf.WEB_WIDTH
        assert thumb.width == pdf.THUMB_WIDTH
    assert pages[0].height > pages[0].width and pages[1].height < pages[1].width


@pytest.mark.parametrize("name", sorted(bad_files()))
def test_it_refuses_bad_files_with_a_reason(name):
    data, phrase = bad_files()[name]
    with pytest.raises(pdf.ImportFailure, match=phrase):
        pdf.inspect_pdf(io.BytesIO(data))


def test_it_counts_pages_and_hashes_without_moving_the_file_position():
    handle = io.BytesIO(pdf_bytes(3))
    assert pdf.inspect_pdf(handle) == 3
    assert handle.tell() == 0
    assert pdf.sha256_of(handle) == pdf.sha256_of(io.BytesIO(handle.getvalue())) and handle.tell() == 0


def test_titles_come_from_file_names():
    assert pdf.title_from_filename("claims_2008-09 receipts.pdf") == "claims 2008 09 receipts"
    assert pdf.title_from_filename("___.pdf") == "Untitled document"
