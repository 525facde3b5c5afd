"""The demo release's pages, drawn with reportlab: claim forms (several layouts), shop and travel
receipts, and hand-written letters to the fees office. About a third are made to look scanned: the
page is rasterised, greyed, given grain and specks, tilted a little and put back into a PDF as an
image. Every name here is invented. Output is deterministic for a given ``random.Random`` (reportlab's
invariant mode), so seeding twice finds the same files by content hash (``frontdesk.demo``).
"""

from __future__ import annotations

import io
import random

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

SHOPS = [
    (
        "TESCO EXTRA",
        "food",
        ["Bananas", "Semi-skimmed milk 2L", "Sourdough loaf", "Cheddar 400g", "Coffee beans"],
    ),
    ("WAITROSE", "food", ["Smoked salmon", "Champagne", "Olives", "Luxury mince pies", "Stilton"]),
    ("THE GEORGE & DRAGON", "food", ["Sunday roast", "House red 175ml", "Sticky toffee pudding", "Service"]),
    ("JOHN LEWIS", "second-home", ["Duvet, king size", "Cushions x4", "Toaster", "Bath towels", "Lamp"]),
    ("HOMEBASE", "second-home", ["Gardening gloves", "Paint 5L magnolia", "Hanging basket", "Patio heater"]),
    ("GREAT WESTERN RAILWAY", "travel", ["Anytime Return, 1st class", "Reservation", "Seat upgrade"]),
    ("CITY CABS LTD", "travel", ["Journey: Westminster - constituency office", "Waiting time"]),
    ("B. PRYCE PLUMBING", "second-home", ["Call-out", "Replace boiler valve", "Labour 3h", "Parts"]),
]

LETTER_LINES = [
    "Dear Sir or Madam,",
    "Please find enclosed my claim for the months of April and May.",
    "I apologise for the delay in sending these receipts, which were",
    "mislaid during my move between the two residences.",
    "The item for the moat is, I believe, a legitimate maintenance cost",
    "as agreed with your office on the telephone last year.",
    "I should be grateful if you could let me know whether the",
    "kitchen refurbishment may be claimed under the additional costs",
    "allowance, or whether it should be split over two financial years.",
    "My constituency office will forward the remaining invoices.",
    "With many thanks for your patience,",
]


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _draw_claim_form(c: canvas.Canvas, rng: random.Random, member: tuple, page_no: int) -> None:
    width, height = A4
    layout = rng.randrange(3)
    c.setFillColor(colors.black)
    if layout == 0:
        c.setFont("Helvetica-Bold", 15)
        c.drawString(20 * mm, height - 25 * mm, "HOUSE OF COMMONS")
        c.setFont("Helvetica", 11)
        c.drawString(20 * mm, height - 32 * mm, "Claim for Additional Costs Allowance (ACA)")
    elif layout == 1:
        c.setFillColor(colors.HexColor("#1f4e3d"))
        c.rect(0, height - 30 * mm, width, 30 * mm, fill=1, stroke=0)
        c.setFillColor(colors.white)
        c.setFont("Times-Bold", 17)
        c.drawCentredString(width / 2, height - 18 * mm, "Members' Expenses: Incidental Expenses Provision")
        c.setFillColor(colors.black)
    else:
        c.setFont("Courier-Bold", 13)
        c.drawString(20 * mm, height - 25 * mm, "FORM ACA/2  -  PERSONAL ALLOWANCES CLAIM")
        c.setFont("Courier", 9)
        c.drawString(20 * mm, height - 31 * mm, "Return to: Department of Finance and Administration")
    name, _, _, constituency = member
    y = height - 48 * mm
    c.setFont("Helvetica", 10)
    for label, value in [
        ("Member's name", name),
        ("Constituency", constituency),
        (
            "Claim period",
            f"{rng.choice(['April', 'May', 'June', 'July', 'August'])} 200{rng.randrange(4, 9)}",
        ),
        ("Payroll number", f"{rng.randrange(100000, 999999)}"),
    ]:
        c.drawString(20 * mm, y, f"{label}:")
        c.setFont("Times-Italic", 12)
        c.drawString(62 * mm, y, value)
        c.setFont("Helvetica", 10)
        c.line(60 * mm, y - 1.5 * mm, 190 * mm, y - 1.5 * mm)
        y -= 9 * mm
    # Line items table.
    y -= 4 * mm
    c.setFont("Helvetica-Bold", 9)
    cols = [20 * mm, 45 * mm, 150 * mm, 190 * mm]
    c.rect(cols[0], y - 3 * mm, cols[-1] - cols[0], 8 * mm, stroke=1, fill=0)
    for x, text in zip(cols, ["Date", "Description", "Amount (£)"], strict=False):
        c.drawString(x + 2 * mm, y, text)
    total = 0.0
    rows = rng.randrange(4, 14)
    c.setFont("Helvetica", 9)
    for _ in range(rows):
        y -= 8 * mm
        amount = _money(rng, 4, 2400)
        total += amount
        shop = rng.choice(SHOPS)
        c.rect(cols[0], y - 3 * mm, cols[-1] - cols[0], 8 * mm, stroke=1, fill=0)
        c.drawString(cols[0] + 2 * mm, y, f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}")
        c.drawString(cols[1] + 2 * mm, y, f"{shop[0].title()}: {rng.choice(shop[2])}")
        c.drawRightString(cols[3] - 2 * mm, y, f"{amount:,.2f}")
    for x in cols[1:-1]:
        c.line(x, y - 3 * mm, x, y - 3 * mm + (rows + 1) * 8 * mm)
    y -= 12 * mm
    c.setFont("Helvetica-Bold", 10)
    c.drawString(cols[2] - 30 * mm, y, "TOTAL CLAIMED")
    c.drawRightString(cols[3] - 2 * mm, y, f"£{total:,.2f}")
    y -= 16 * mm
    c.setFont("Helvetica", 8)
    c.drawString(
        20 * mm, y, "I certify that the expenditure was incurred wholly, exclusively and necessarily"
    )
    c.drawString(20 * mm, y - 4 * mm, "in the performance of my parliamentary duties.")
    c.line(20 * mm, y - 18 * mm, 90 * mm, y - 18 * mm)
    c.drawString(20 * mm, y - 22 * mm, "Signature")
    _scribble(c, rng, 24 * mm, y - 16 * mm, 60 * mm)
    # Fees office box, sometimes with a pencilled note.
    c.rect(120 * mm, 15 * mm, 70 * mm, 30 * mm)
    c.setFont("Helvetica-Bold", 7)
    c.drawString(122 * mm, 41 * mm, "FEES OFFICE USE ONLY")
    if rng.random() < 0.3:
        c.setFillColor(colors.HexColor("#555555"))
        c.setFont("Times-Italic", 11)
        c.drawString(123 * mm, 28 * mm, rng.choice(["Query - see letter", "Paid in part", "Not allowable?"]))
        c.setFillColor(colors.black)
    c.setFont("Helvetica", 7)
    c.drawRightString(width - 20 * mm, 8 * mm, f"page {page_no}")


def _scribble(c: canvas.Canvas, rng: random.Random, x: float, y: float, length: float) -> None:
    c.setStrokeColor(colors.HexColor("#1b2a6b"))
    c.setLineWidth(1.1)
    path = c.beginPath()
    path.moveTo(x, y)
    steps = 14
    for i in range(1, steps + 1):
        path.curveTo(
            x + length * (i - 0.7) / steps,
            y + rng.uniform(-6, 9),
            x + length * (i - 0.3) / steps,
            y + rng.uniform(-9, 6),
            x + length * i / steps,
            y + rng.uniform(-2, 2),
        )
    c.drawPath(path, stroke=1, fill=0)
    c.setStrokeColor(colors.black)
    c.setLineWidth(1)


def _draw_receipt(c: canvas.Canvas, rng: random.Random, size: tuple[float, float]) -> str:
    """A till receipt on a narrow strip of paper in the middle of the page; returns its kind."""
    width, height = size
    shop, kind, items = rng.choice(SHOPS)
    strip_w = min(width - 20 * mm, rng.uniform(70, 90) * mm)
    x0 = (width - strip_w) / 2
    lines = rng.randrange(3, len(items) + 4)
    strip_h = min(height - 20 * mm, (lines + 14) * 5.2 * mm)
    y0 = height - 10 * mm - strip_h
    c.setFillColor(colors.HexColor("#fbfaf4"))
    c.rect(x0, y0, strip_w, strip_h, fill=1, stroke=0)
    c.setFillColor(colors.black)
    y = y0 + strip_h - 9 * mm
    c.setFont("Courier-Bold", 11)
    c.drawCentredString(x0 + strip_w / 2, y, shop)
    c.setFont("Courier", 8)
    y -= 5 * mm
    c.drawCentredString(
        x0 + strip_w / 2, y, f"VAT No. {rng.randrange(100, 999)} {rng.randrange(1000, 9999)} 21"
    )
    y -= 8 * mm
    total = 0.0
    for _ in range(lines):
        amount = _money(rng, 0.5, 300 if kind != "food" else 40)
        total += amount
        c.drawString(x0 + 4 * mm, y, rng.choice(items)[:24])
        c.drawRightString(x0 + strip_w - 4 * mm, y, f"{amount:.2f}")
        y -= 5 * mm
    y -= 2 * mm
    c.setFont("Courier-Bold", 9)
    c.drawString(x0 + 4 * mm, y, "TOTAL")
    c.drawRightString(x0 + strip_w - 4 * mm, y, f"£{total:.2f}")
    y -= 6 * mm
    c.setFont("Courier", 7)
    c.drawString(
        x0 + 4 * mm, y, f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/0{rng.randrange(4, 9)}"
    )
    c.drawRightString(x0 + strip_w - 4 * mm, y, f"{rng.randrange(8, 22):02d}:{rng.randrange(60):02d}")
    y -= 5 * mm
    c.drawCentredString(x0 + strip_w / 2, y, "THANK YOU FOR SHOPPING WITH US")
    if rng.random() < 0.35:  # a member's pencilled annotation
        c.setFillColor(colors.HexColor("#1b2a6b"))
        c.setFont("Times-Italic", 14)
        c.drawString(
            x0 + 2 * mm, y0 - 8 * mm, rng.choice(["constituency office", "2nd home - ok?", "see claim"])
        )
        c.setFillColor(colors.black)
    return kind


def _draw_letter(c: canvas.Canvas, rng: random.Random, member: tuple) -> None:
    """A hand-written letter: italic script with a wandering baseline and uneven letters."""
    width, height = A4
    c.setFillColor(colors.HexColor("#fffdf6"))
    c.rect(0, 0, width, height, fill=1, stroke=0)
    c.setStrokeColor(colors.HexColor("#c7d7ee"))
    for y in range(int(height - 40 * mm), int(20 * mm), -int(9 * mm)):
        c.line(15 * mm, y, width - 15 * mm, y)
    ink = rng.choice(["#1b2a6b", "#111111", "#22306e"])
    c.setFillColor(colors.HexColor(ink))
    font = rng.choice(["Times-Italic", "Helvetica-Oblique"])
    c.setFont(font, 14)
    c.drawRightString(
        width - 25 * mm, height - 28 * mm, f"{rng.randrange(1, 29)} {rng.choice(['March', 'June', 'Nov.'])}"
    )
    y = height - 40 * mm + 2
    lines = LETTER_LINES[:]
    rng.shuffle(lines[1:-1])
    for line in lines[: rng.randrange(6, len(lines))] + [lines[-1], member[0].replace(" MP", "")]:
        x = 22 * mm + rng.uniform(-2, 6)
        drift = rng.uniform(-0.04, 0.04)
        for ch in line:
            size = 14 + rng.uniform(-1.2, 1.6)
            c.setFont(font, size)
            c.drawString(x, y + rng.uniform(-0.8, 0.8), ch)
            x += c.stringWidth(ch, font, size) * rng.uniform(0.95, 1.1)
            y += drift
        y = round((y - 9 * mm) / (9 * mm)) * 9 * mm + 2
        if y < 25 * mm:
            break
    _scribble(c, rng, 22 * mm, max(y - 4 * mm, 15 * mm), 45 * mm)


def _scan_image(page_pdf: bytes, rng: random.Random):
    """Rasterise a one-page PDF the way a tired photocopier would: grey, grainy, tilted, specked.

    Deterministic for a given ``rng`` (the grain comes from it, not from Pillow's own noise)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageChops, ImageFilter

    pdf = pdfium.PdfDocument(page_pdf)
    try:
        image = pdf[0].render(scale=110 / 72).to_pil().convert("L")
    finally:
        pdf.close()
    image = image.rotate(
        rng.uniform(-2.5, 2.5), resample=Image.Resampling.BILINEAR, expand=False, fillcolor=235
    )
    # Grain: uniform noise at half resolution, scaled up (softer, like toner), darkening by <= 10%.
    small = (max(1, image.width // 2), max(1, image.height // 2))
    grain = Image.frombytes("L", small, rng.randbytes(small[0] * small[1])).resize(image.size)
    image = ImageChops.multiply(image, grain.point(lambda v: 255 - v // 10))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.7)))
    image = image.point(lambda v: min(255, int(v * 0.93 + 22)))
    # Specks and a dark scanner edge.
    px = image.load()
    for _ in range(rng.randrange(40, 160)):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        px[x, y] = rng.randrange(0, 90)
    edge = Image.new("L", (rng.randrange(6, 18), image.height), rng.randrange(30, 90))
    image.paste(edge, (0 if rng.random() < 0.5 else image.width - edge.width, 0))
    return image


def _one_page(draw, size, rotate: int = 0) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size, invariant=1)
    c.setPageRotation(rotate)
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def _page_spec(kind: str, number: int, member: tuple, rng: random.Random):
    """(page size, /Rotate, draw function) of one page of a document of ``kind``."""
    if kind == "claim":
        return A4, 0, lambda c: _draw_claim_form(c, rng, member, number)
    if kind == "receipts":
        size = rng.choice([A4, A5, landscape(A5)])
        # Some receipts were fed in sideways: the page carries a /Rotate. reportlab then draws
        # in the un-rotated (swapped) coordinate space.
        rotate = 90 if size == landscape(A5) and rng.random() < 0.5 else 0
        media = (size[1], size[0]) if rotate else size
        return size, rotate, lambda c: _draw_receipt(c, rng, media)
    return A4, 0, lambda c: _draw_letter(c, rng, member)


def make_document_pdf(kind: str, pages: int, member: tuple, rng: random.Random, *, scanned: bool) -> bytes:
    """One multi-page PDF of the given kind (claim, receipts or letter), deterministic for ``rng``."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for number in range(1, pages + 1):
        size, rotate, draw = _page_spec(kind, number, member, rng)
        if scanned:
            image = _scan_image(_one_page(draw, size, rotate), rng)
            jpeg = io.BytesIO()
            image.save(jpeg, "JPEG", quality=70)
            jpeg.seek(0)
            # The scan is of the page as displayed (reportlab's displayed size is `size` whatever
            # the rotation): no /Rotate left on it.
            width, height = size
            c.setPageSize(size)
            c.setPageRotation(0)
            c.drawImage(ImageReader(jpeg), 0, 0, width=width, height=height)
        else:
            c.setPageSize(size)
            c.setPageRotation(rotate)
            draw(c)
        c.showPage()
    c.save()
    return buf.getvalue()
