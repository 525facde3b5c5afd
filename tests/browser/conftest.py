"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

The live server runs in a thread of the test process and its database is transactional (rows
are visible to it, and flushed afterwards). Static files come from the staticfiles finders;
page images are real PNGs written to a temporary MEDIA_ROOT.

The journeys run on the picker's hot path: Redis is flushed before every test (tests/conftest.py),
so a test builds every denormalisation from the data it made (``build_denormalisations``) and
then asserts, with ``picker_sources``, that each next page came from Redis, not a fallback.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from assignments import picker, picker_stats
from assignments.models import PickerStat
from denorm import operations, registry

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# otherwise refuse the ORM calls the tests make between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def site(settings, tmp_path, live_server):
    """The live server with a temporary MEDIA_ROOT that it serves."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.browser.urls"
    settings.DEBUG = False
    return live_server


def build_denormalisations() -> None:
    """Every registered copy built from what is in Postgres now, as ``rebuild_denormalisations``
    does: call it after the test's data is made, or the picker serves from its fallbacks."""
    operations.rebuild_entries(registry.all_entries())


def _picker_counts() -> Counter[str]:
    """This process's picker counts: those pending in memory plus those already stored (a
    flush moves counts from one to the other, so the sum only grows by what was counted)."""
    totals = Counter(picker_stats.pending())
    for source, n in PickerStat.objects.values_list("source", "count"):
        totals[source] += n
    return totals


@pytest.fixture
def picker_sources():
    """A function returning how the picker served since this fixture ran, by source name.

    The live server is a thread of this process, so its picks are counted here. Request it after
    the fixtures that make and build the data, so that only the journey's picks are counted.
    """
    picker.reset_state()  # no circuit breaker or "nothing left" answer from an earlier test
    before = _picker_counts()

    def sources() -> dict[str, int]:
        return {name: n for name, n in (_picker_counts() - before).items() if n}

    return sources


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def write_page_images(pages, media_root: Path) -> None:
    """A small readable PNG per page (image and thumbnail), so the review screen shows a page."""
    from PIL import Image, ImageDraw

    for page in pages:
        img = Image.new("RGB", (700, 990), "white")
        draw = ImageDraw.Draw(img)
        draw.rectangle([30, 30, 670, 960], outline="black", width=3)
        draw.text((60, 60), f"{page.document.title}", fill="black")
        draw.text((60, 90), f"Page {page.number}", fill="black")
        for i in range(22):
            y = 150 + i * 36
            draw.line([(60, y), (60 + (i * 97) % 540 + 60, y)], fill="#555", width=2)
        for name in (page.image.name, page.thumbnail.name):
            path = media_root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            img.save(path, "PNG")


def clean_artifacts(pattern: str) -> None:
    for path in ARTIFACTS.glob(pattern):
        if path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path)
