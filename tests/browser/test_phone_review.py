"""On a phone (390 px, touch), a reviewer reviews three pages without ever scrolling: the tags
and Submit/Skip sit in a bar at the bottom of the screen, inside the viewport, the page image
pans and zooms above it, key hints are hidden, and the anonymous header stays on one line."""

from __future__ import annotations

import re

import pytest

from assignments.models import Assignment
from reviews.models import Review
from tests import factories
from tests.browser.conftest import build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}
SHOTS = "/tmp"


@pytest.fixture
def release(site, settings, tags):
    # The demo's full tag set: seven tags is what a real newsroom's bar holds.
    for slug, key, order in [("food", "f", 4), ("travel", "t", 5), ("second-home", "o", 6)]:
        factories.make_tag(slug, key=key, order=order)
    doc = factories.make_document(pages=5, title="Additional costs allowance 2007-08")
    main = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, slug="acca")
    Assignment.objects.filter(pk=main.pk).update(title="One member's expenses, every page", page_count=5)
    write_page_images(list(doc.pages.select_related("document")), settings.MEDIA_ROOT)
    build_denormalisations()
    return site


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= PHONE_390["width"] + 0.5
        and box["y"] + box["height"] <= PHONE_390["height"] + 0.5
    )


def assert_reachable_without_scrolling(page) -> None:
    assert page.evaluate("window.scrollY") == 0
    # The document is no taller and no wider than the screen: there is nothing to scroll to.
    # (innerHeight grows past the screen's when anything is wider: the phone zooms out to fit it.)
    assert page.evaluate("window.innerHeight") == PHONE_390["height"]
    assert page.evaluate("document.scrollingElement.scrollHeight") <= PHONE_390["height"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE_390["width"]
    submit = page.get_by_role("button", name=re.compile(r"^Submit"))
    assert in_viewport(page, submit), submit.bounding_box()
    assert in_viewport(page, page.get_by_role("button", name=re.compile(r"^Skip")))
    toggles = page.locator("label.tag-toggle")
    assert toggles.count() == 7
    for i in range(toggles.count()):
        assert in_viewport(page, toggles.nth(i)), (toggles.nth(i).inner_text(), toggles.nth(i).bounding_box())
    # The page image is on screen above the bar, big enough to read (at least a third of it).
    frame = page.locator("#page-frame").bounding_box()
    assert frame["height"] >= PHONE_390["height"] / 3, frame


def test_a_reviewer_on_a_phone_reviews_three_pages_without_scrolling(browser, release):
    context = browser.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(release.url + "/assignments/acca/start/")
    seen = []
    for n in range(3):
        assert_reachable_without_scrolling(page)
        # Touch screen: no keyboard hints anywhere on the review screen.
        assert all(not k.is_visible() for k in page.locator("kbd").all())
        seen.append(page.url)
        page.screenshot(path=f"{SHOTS}/ux-phone-review-{n + 1}.png")
        page.locator("label.tag-toggle", has_text="Receipt").tap()
        if n == 1:
            page.locator("label.tag-toggle", has_text="Second home").tap()
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile(r"^Submit")).tap()
        if n == 0:
            # Now an anon-<n> account: its header (name, save, log out, menu) is one line.
            header = page.locator(".site-header__inner").bounding_box()
            assert header["height"] <= 48, header
            page.screenshot(
                path=f"{SHOTS}/ux-phone-header-anon.png", clip={"x": 0, "y": 0, "width": 390, "height": 120}
            )
    assert len(set(seen)) == 3
    assert Review.objects.count() == 3
    assert Review.objects.filter(tags__slug="second-home").count() == 1

    # The zoom button doubles the image inside its frame; the page itself still does not scroll.
    before = page.locator("#page-image").bounding_box()["width"]
    page.get_by_role("button", name=re.compile("Zoom in")).tap()
    assert page.locator("#page-image").bounding_box()["width"] >= 1.9 * before
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE_390["width"]
    page.screenshot(path=f"{SHOTS}/ux-phone-zoomed.png")

    # The sections are in a menu, one tap away.
    page.locator(".site-nav__menu summary").tap()
    assert page.get_by_role("link", name="Assignments").first.is_visible()
    page.screenshot(path=f"{SHOTS}/ux-phone-menu.png")
    context.close()
