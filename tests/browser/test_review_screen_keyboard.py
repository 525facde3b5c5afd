"""The review screen fits the screen and works by keyboard alone, in Chromium.

- At 1280x800 and 1440x900 the whole scan (fitted to the height), every tag and Submit are on
  screen without scrolling.
- A whole session with the keyboard only: Tab to "Start reviewing" and Enter; tag with the
  keys; Enter submits; S skips; Z zooms and the arrow keys pan the focused scan; Q rotates;
  Tab to "Save your account" and claim it by typing. Every element Tab reaches shows a visible
  focus indicator.
- After every fast-path swap, focus is on the new page's title (not on the last tag pressed) and
  the live region says "Page N of <document> loaded".
"""

from __future__ import annotations

import re

import pytest

from assignments.models import Assignment
from reviews.models import Review, Skip
from tests import factories
from tests.browser.conftest import build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_URL = re.compile(r".*/review/(\d+)/$")


@pytest.fixture
def release(site, settings, tags):
    member = factories.make_member(name="Jo Member")
    doc = factories.make_document(member=member, pages=6, title="Additional costs allowance 2007-08")
    main = factories.make_assignment(members=[member], featured=Assignment.Featured.MAIN, slug="jo-member")
    Assignment.objects.filter(pk=main.pk).update(title="Jo Member's expenses", page_count=6)
    pages = list(doc.pages.select_related("document"))
    write_page_images(pages, settings.MEDIA_ROOT)
    build_denormalisations()
    return site, doc


def _page_id(tab) -> int:
    match = REVIEW_URL.match(tab.url)
    assert match, tab.url
    return int(match.group(1))


def _focus_is_visible(tab) -> str | None:
    """What the focused element draws to show focus (None when nothing: a failure)."""
    return tab.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          // A tag's checkbox is drawn by its label (site.css: .tag-toggle:has(input:focus-visible)).
          const drawn = el.closest('.tag-toggle') || el;
          const s = getComputedStyle(drawn);
          if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) return 'outline ' + s.outlineColor;
          if (s.boxShadow && s.boxShadow !== 'none') return 'shadow';
          return null;
        }"""
    )


def _tab_to(tab, name: str, limit: int = 40) -> list[str]:
    """Press Tab until the focused element's text starts with ``name``; every stop on the way
    must show its focus. Returns the stops that drew none (should be empty)."""
    invisible = []
    for _ in range(limit):
        tab.keyboard.press("Tab")
        label = tab.evaluate(
            "() => (document.activeElement.innerText || document.activeElement.value || '').trim()"
        )
        if _focus_is_visible(tab) is None:
            invisible.append(label or tab.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
        if label.startswith(name):
            return invisible
    raise AssertionError(f"Tab never reached {name!r}")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1440, 900)])
def test_the_whole_scan_tags_and_submit_fit_on_a_laptop_screen(browser, release, width, height):
    site, _ = release
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.goto(site.url + "/assignments/jo-member/start/")
    tab.wait_for_function("() => document.querySelector('#page-image').complete")
    fit = tab.evaluate(
        """() => {
          const frame = document.querySelector('#page-frame').getBoundingClientRect();
          const img = document.querySelector('#page-image');
          const box = img.getBoundingClientRect();
          const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
          const tags = [...document.querySelectorAll('.tag-toggle')].map(t => t.getBoundingClientRect().bottom);
          const submit = document.querySelector('#review-form button[value=submit]').getBoundingClientRect();
          return {
            scrolls: document.scrollingElement.scrollHeight > innerHeight,
            frameBottom: frame.bottom, frameHeight: frame.height,
            scanHeight: img.naturalHeight * scale, scanWidth: img.naturalWidth * scale, boxWidth: box.width,
            tagsBottom: Math.max(...tags), submitBottom: submit.bottom, innerHeight,
          };
        }"""
    )
    assert not fit["scrolls"], fit
    assert fit["frameBottom"] <= height and fit["tagsBottom"] <= height and fit["submitBottom"] <= height, fit
    # Fitted to the height: the portrait scan is as tall as its frame (less its border), whole.
    assert fit["scanHeight"] == pytest.approx(fit["frameHeight"] - 2, abs=2), fit
    assert fit["scanWidth"] <= fit["boxWidth"] + 0.5
    assert fit["frameHeight"] > height * 0.6, fit  # the scan gets most of the screen
    context.close()


def test_a_whole_session_by_keyboard_alone(browser, release, artifacts):
    site, doc = release
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(site.url + "/")

    # Start: Tab to the big button, Enter.
    assert _tab_to(tab, "Start reviewing") == []
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    first = _page_id(tab)

    # Tag with the keys (R, H), submit with Enter (a first review loads the next screen whole).
    tab.keyboard.press("r")
    tab.keyboard.press("h")
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    second = _page_id(tab)
    assert second != first
    assert set(Review.objects.get(page_id=first).tags.values_list("slug", flat=True)) == {
        "receipt",
        "hand-written",
    }

    # Zoom with Z, then the focused scan pans with the arrow keys.
    frame = tab.locator("#page-frame")
    tab.keyboard.press("z")
    assert frame.get_attribute("class").split().count("is-zoomed") == 1
    frame.focus()  # as Tab would reach it: it is in the tab order (tabindex=0)
    assert frame.get_attribute("tabindex") == "0"
    before = frame.evaluate("f => f.scrollTop")
    tab.keyboard.press("ArrowDown")
    tab.keyboard.press("PageDown")
    tab.wait_for_function("() => document.querySelector('#page-frame').scrollTop > 0")
    assert frame.evaluate("f => f.scrollTop") > before
    tab.keyboard.press("z")  # zoom out again

    # Rotate with Q: a quarter turn each press, back to upright after four.
    tab.keyboard.press("q")
    assert frame.get_attribute("data-rotation") == "90" and "rot-90" in frame.get_attribute("class")
    assert tab.locator("#page-image").evaluate("i => getComputedStyle(i).transform") != "none"
    tab.screenshot(path=artifacts / "keyboard-rotated-1280.png")
    for _ in range(3):
        tab.keyboard.press("q")
    assert frame.get_attribute("data-rotation") == "0"

    # A fast-path swap: focus leaves the last tag for the new page's title, and it is announced.
    tab.locator('input[name="tags"][value="claim-form"]').focus()
    tab.keyboard.press("Space")
    tab.keyboard.press("Enter")
    tab.wait_for_function(f"() => !location.pathname.endsWith('/{second}/')")
    third = _page_id(tab)
    tab.wait_for_function("() => document.activeElement && document.activeElement.id === 'review-title'")
    number = doc.pages.get(pk=third).number
    assert tab.locator("#review-announce").inner_text() == f"Page {number} of {doc.title} loaded"
    assert Review.objects.filter(page_id=second).exists()

    # Skip with S (the fast path again), nothing recorded against the threshold.
    tab.keyboard.press("s")
    tab.wait_for_function(f"() => !location.pathname.endsWith('/{third}/')")
    assert Skip.objects.filter(page_id=third).exists()
    tab.wait_for_function("() => document.activeElement.id === 'review-title'")

    # Claim: Tab to "Save your account", Enter, type the form, Enter.
    tab.goto(tab.url)  # the header with the account links, as after any full load
    assert _tab_to(tab, "Save") == []
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.url.endswith("/account/claim/")
    tab.locator("#id_username").focus()
    tab.keyboard.type("Keys_Only")
    invisible = []
    for text in ["keys@example.org", "correct horse battery 9", "correct horse battery 9"]:
        tab.keyboard.press("Tab")
        if _focus_is_visible(tab) is None:
            invisible.append(tab.evaluate("() => document.activeElement.name"))
        tab.keyboard.type(text)
    assert invisible == []
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.url.endswith("/users/Keys_Only/"), tab.url
    assert Review.objects.filter(reviewer__username="Keys_Only").count() == 2
    assert errors == []
    context.close()
