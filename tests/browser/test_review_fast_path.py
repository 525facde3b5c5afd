"""The review screen's fast path in Chromium (issue 13): after a reviewer's first review, Enter
swaps the next page into the same document (one request per review). The swapped screen must
say the same as a loaded one: title, member, page number, image, progress and own count, text
shown as text; a reload shows the same page; a refused review falls back to the plain form and
its error page; an editor's tag change loads the next screen whole."""

from __future__ import annotations

import re

import pytest

from assignments.models import Assignment
from catalogue.models import Tag
from reviews.models import Review
from tests import factories
from tests.browser.conftest import LAPTOP, build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_URL = re.compile(r".*/review/(\d+)/$")


@pytest.fixture
def release(site, settings, tags):
    member = factories.make_member(name="Jo <i>Member</i>")
    doc = factories.make_document(member=member, pages=8, title="Costs <script>window.owned=1</script>")
    main = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    Assignment.objects.filter(pk=main.pk).update(page_count=8)
    write_page_images(list(doc.pages.select_related("document")), settings.MEDIA_ROOT)
    build_denormalisations()
    return site, doc


def page_id(page) -> int:
    match = REVIEW_URL.match(page.url)
    assert match, page.url
    return int(match.group(1))


def screen_text(page) -> dict:
    return {
        "title": page.locator("h1.review-title").inner_text(),
        "member": page.locator(".review-member").inner_text(),
        "alt": page.locator("#page-image").get_attribute("alt"),
        "src": page.locator("#page-image").get_attribute("src"),
        "link": page.locator("#page-image-link").get_attribute("href"),
        "action": page.locator("#review-form").get_attribute("action"),
        "own": page.locator(".review-status__mine").inner_text(),
        "progress": page.locator(".progress__text").inner_text(),
        "tab": page.title(),
    }


def test_pages_are_swapped_in_place_and_read_as_a_loaded_screen(browser, release, artifacts):
    site, doc = release
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.url + "/review/next/")
    with page.expect_navigation():  # the first review makes the account: a whole screen
        page.keyboard.press("Enter")
    origin = page.evaluate("performance.timeOrigin")
    for n in range(2, 5):
        before = page_id(page)
        page.keyboard.press("r")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('page-image').complete")
        current = page_id(page)
        assert current != before
        assert page.evaluate("performance.timeOrigin") == origin  # swapped, not loaded
        swapped = screen_text(page)
        assert swapped["own"] == f"You have reviewed {n} pages."
        assert not page.locator('input[name="tags"]:checked').count()  # a fresh form
        assert page.evaluate("window.owned") is None  # the title's script is text, never run
        page.screenshot(path=artifacts / f"fast-path-{n}-1280.png")
        # A reload shows the same page, and says exactly what the swap said.
        page.reload()
        assert page_id(page) == current
        assert screen_text(page) == swapped
        origin = page.evaluate("performance.timeOrigin")
    assert Review.objects.filter(page__document=doc).count() == 4
    assert Review.objects.filter(tags__slug="receipt").count() == 3
    assert "Costs <script>window.owned=1</script>" in swapped["title"]
    assert swapped["member"] == "Papers of Jo <i>Member</i>"
    assert errors == []
    context.close()


@pytest.fixture
def reviewing(browser, release):
    """A reviewer in Chromium past their first review (which loads the next screen whole): the
    next Enter takes the fast path."""
    site, _doc = release
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(site.url + "/review/next/")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    yield page
    context.close()


def test_a_refused_review_falls_back_to_the_plain_form_and_its_error_page(reviewing):
    page = reviewing
    # The editors retire a tag while it is on screen and the reviewer uses it: the server
    # refuses; the script posts the form the plain way and the browser shows the refusal.
    Tag.objects.filter(slug="receipt").update(active=False)
    page.keyboard.press("r")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Unknown or inactive tag: receipt" in page.content()
    assert Review.objects.count() == 1


def test_an_edited_tag_set_loads_the_next_screen_whole(reviewing):
    page = reviewing
    origin = page.evaluate("performance.timeOrigin")
    factories.make_tag("new-tag", key="w", order=20)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector('input[name="tags"][value="new-tag"]')
    assert page.evaluate("performance.timeOrigin") != origin
    assert Review.objects.count() == 2
