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
from reviews.models import Page
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


def test_three_keyboard_reviews_each_show_an_image_prefetched_before_enter(
    browser, release, served, monkeypatch
):
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
    for _ in range(3):
        link = page.locator('link[rel="prefetch"][as="image"]')
        assert link.count() == 1
        href = link.get_attribute("href")
        following = Page.objects.get(image=href.removeprefix("/media/"))
        assert following.pk not in seen and following.document_id == doc.pk
        # The browser fetched it while this page was on screen, once.
        page.wait_for_function(
            "url => performance.getEntriesByName(url).some(e => e.responseEnd > 0)", arg=site.url + href
        )
        assert served.count(href) == 1
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page_id_of(page) == following.pk  # the submit landed on the prefetched page
        seen.append(following.pk)
        image = page.locator("img#page-image")
        assert image.get_attribute("src") == href
        assert image.evaluate("img => img.complete && img.naturalWidth") == 700
        # Shown from the cache: nothing over the network, and the server was not asked again.
        transfer = page.evaluate("url => performance.getEntriesByName(url)[0].transferSize", site.url + href)
        assert transfer == 0
        assert served.count(href) == 1
        assert headers[site.url + href]["cache-control"] == "private, max-age=3600"
    assert len(set(seen)) == 4
    assert errors == []
    context.close()
