"""Enter shows the next page from the browser's cache (issue 13, "A faster review cycle"): each
review screen asks Chromium to prefetch the image of the reviewer's following page, and the
submit lands on that page, so its image is never fetched again. Checked with the server's own
request log (each image requested once, before Enter) and the page's Resource Timing
(``transferSize`` 0: no bytes over the network). No timings asserted: those are bench/'s."""

from __future__ import annotations

import re

import pytest
from django.core.signals import request_started
from django.test import testcases

from assignments.models import Assignment
from catalogue.models import Page
from tests import factories
from tests.browser.conftest import LAPTOP, build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_URL = re.compile(r".*/review/(\d+)/$")


@pytest.fixture
def release(site, settings, tags):
    doc = factories.make_document(pages=10, title="Additional costs allowance 2007-08")
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, slug="main")
    write_page_images(list(doc.pages.select_related("document")), settings.MEDIA_ROOT)
    build_denormalisations()
    return site, doc


@pytest.fixture
def served():
    """The paths the live server was asked for, in order (its own log, not the browser's)."""
    paths: list[str] = []

    def log(sender, environ, **kwargs):
        paths.append(environ.get("PATH_INFO", ""))

    request_started.connect(log, dispatch_uid="prefetch-test-log")
    yield paths
    request_started.disconnect(dispatch_uid="prefetch-test-log")


def page_id_of(page) -> int:
    match = REVIEW_URL.match(page.url)
    assert match, page.url
    return int(match.group(1))


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "plain-form"])
def test_four_keyboard_reviews_each_show_an_image_prefetched_before_enter(
    browser, release, served, monkeypatch, settings, fast_path
):
    """With the fast path (static/js/review.js) Enter swaps the next page into the same
    document; without it the form posts and the browser loads the next screen. Either way the
    next image was fetched once, before Enter, and is shown without asking the server again."""
    settings.REVIEW_FAST_PATH = fast_path
    # The live server answers /media/ itself, before any URL (Django's test shortcut, with no
    # Cache-Control): send it to the site's media route instead, the gate that SERVE_MEDIA and
    # nginx both go through, whose cache headers are what production sends.
    monkeypatch.setattr(testcases._MediaFilesHandler, "_should_handle", lambda self, path: False)
    site, doc = release
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    headers = {}
    page.on("response", lambda r: "/media/pages/" in r.url and headers.setdefault(r.url, r.headers))
    page.goto(site.url + "/review/next/")
    seen = [page_id_of(page)]
    documents = set()
    for n in range(4):
        # After a swap, the fast path's answer named it and the script fetched it; on a loaded
        # screen, its <link rel="prefetch">.
        href = page.locator("#review-form").get_attribute("data-prefetched")
        if href is None:
            link = page.locator('link[rel="prefetch"][as="image"]')
            assert link.count() == 1
            href = link.get_attribute("href")
        assert (fast_path and n >= 2) == (
            page.locator("#review-form").get_attribute("data-prefetched") is not None
        )
        following = Page.objects.get(image=href.removeprefix("/media/"))
        assert following.pk not in seen and following.document_id == doc.pk
        # The browser fetched it while this page was on screen, once.
        page.wait_for_function(
            "url => performance.getEntriesByName(url).some(e => e.responseEnd > 0)", arg=site.url + href
        )
        assert served.count(href) == 1
        documents.add(page.evaluate("performance.timeOrigin"))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth", arg=page.locator("img#page-image").element_handle()
        )
        assert page_id_of(page) == following.pk  # the submit landed on the prefetched page
        seen.append(following.pk)
        image = page.locator("img#page-image")
        assert image.get_attribute("src") == href
        assert image.evaluate("img => img.complete && img.naturalWidth") == 700
        # Shown from the cache: nothing more over the network, and the server was not asked again.
        transferred = page.evaluate(
            "url => performance.getEntriesByName(url).filter(e => e.transferSize > 0).length", site.url + href
        )
        assert transferred <= 1
        assert served.count(href) == 1
        assert headers[site.url + href]["cache-control"] == "private, max-age=3600"
    documents.add(page.evaluate("performance.timeOrigin"))
    # With the fast path, the first review (which makes the visitor's account) loads the next
    # screen whole, so that its header offers to save the account; then pages are swapped into
    # that document. Without it, a new document per page.
    assert len(documents) == (2 if fast_path else 5)
    assert len(set(seen)) == 5
    assert errors == []
    context.close()
