"""A reporter's path in Chromium: search from the header box, open a hit, see the words marked
on the scan (SVG boxes over the image) and in the text, page to the next page with the keyboard
(j), open the whole document. No CSP violation on the way (no inline script or style)."""

from __future__ import annotations

import pytest

from catalogue.models import Page
from tests import factories
from tests.browser.conftest import LAPTOP
from tests.search.support import import_pdf, text_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reporter_searches_opens_a_hit_sees_the_words_and_reads_on(browser, site, settings, tmp_path):
    member = factories.make_member(name="Sir Peter Example", party=factories.make_party(name="Purple"))
    document = import_pdf(
        tmp_path,
        "claims.pdf",
        text_pdf(
            [
                "Claim for the maintenance of the grounds\nGardening services",
                "Invoice for a floating duck house\nTotal 1,645 pounds",
                "A letter from the fees office\nThe claim is not allowed",
            ]
        ),
        member=member,
        title="Additional costs allowance 2007-08",
    )
    hit_page = Page.objects.get(document=document, number=2)
    context = browser.new_context(viewport=LAPTOP)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on(
        "console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    tab.goto(site.url + "/")
    tab.locator("#site-search-q").fill("duck house")
    with tab.expect_navigation():
        tab.locator("#site-search-q").press("Enter")
    assert "/search/" in tab.url
    link = tab.locator(".search-hit__link").first
    assert "page 2" in link.inner_text()
    with tab.expect_navigation():
        link.click()
    assert tab.url.endswith(f"/pages/{hit_page.pk}/?q=duck%20house")

    # The words are boxed on the scan: two rects, inside the image, drawn over it.
    marks = tab.locator("svg.word-marks rect.word-mark")
    assert marks.count() == 2
    image = tab.locator(".marked-scan img.page-image").bounding_box()
    for index in range(marks.count()):
        box = marks.nth(index).bounding_box()
        assert box["width"] > 0 and box["height"] > 0
        assert image["x"] <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"] + 1
        assert image["y"] <= box["y"] and box["y"] + box["height"] <= image["y"] + image["height"] + 1
    # ...and in the text beside it.
    assert [m.lower() for m in tab.locator(".page-text__lines mark").all_inner_texts()] == ["duck", "house"]

    # j: the next page, the search carried along.
    tab.locator("body").press("j")
    tab.wait_for_url(f"**/pages/{hit_page.pk + 1}/?q=duck%20house")
    assert "page 3" in tab.locator("h1").inner_text()
    # / focuses a search box.
    tab.locator("body").press("/")
    assert tab.evaluate("document.activeElement.type") == "search"
    tab.locator("body").click()

    with tab.expect_navigation():
        tab.locator('[data-nav="document"]').click()
    assert tab.url.endswith(f"/documents/{document.pk}/")
    assert tab.locator(".page-grid__cell").count() == 3
    assert "floating duck house" in tab.locator(".document-text").inner_text()
    assert problems == []
    context.close()
