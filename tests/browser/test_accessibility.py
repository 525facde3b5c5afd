"""Accessible to WCAG 2.2 AA, and kept so: axe-core (bundled by axe-playwright-python) runs in
Chromium on every page in ``PAGES`` (the one list), at 1280 and 390 px, and finds no serious or
critical violation; and every element that Tab reaches (the first ``TAB_STOPS`` of each page)
draws a visible focus indicator. The review screen is checked before and after a review, the staff pages as
an editor; each width is one test that reports every violation it found, page by page.

Axe runs through Playwright's ``evaluate`` (the DevTools protocol), which the Content-Security-
Policy does not govern: the pages keep their strict CSP while being checked.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client

from assignments.models import Assignment
from reviews.actions import create_discovery
from tests import factories
from tests.browser.conftest import build_denormalisations, write_page_images
from tests.contributors._support import review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BLOCKING = {"serious", "critical"}
# WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices (landmarks, headings, regions).
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}

# The pages checked: (who, name, path). Paths may name the fixture's objects in braces; the
# review screen ("review" and "review-after") is reached through the start button, not a path.
PAGES: list[tuple[str, str, str]] = [
    ("public", "home", "/"),
    ("public", "assignments", "/assignments/"),
    ("public", "assignment", "/assignments/{assignment}/"),
    ("public", "tag listing", "/tags/receipt/"),
    ("public", "tag listing, in order", "/in-order/tags/receipt/"),
    ("public", "tags", "/tags/"),
    ("public", "page", "/pages/{page}/"),
    ("public", "document", "/documents/{document}/"),
    ("public", "party", "/parties/{party}/"),
    ("public", "member", "/members/{member}/"),
    ("public", "profile", "/users/{reviewer}/"),
    ("public", "discoveries", "/discoveries/"),
    ("public", "search", "/search/?q=receipt"),
    ("public", "login", "/account/login/"),
    ("public", "API docs", "/api/docs/"),
    ("visitor", "review screen", "review"),
    ("visitor", "review screen after a review", "review-after"),
    ("visitor", "claim", "/account/claim/"),
    ("staff", "review screen as an editor", "/review/{open_page}/"),
    ("staff", "activity", "/staff/activity/"),
    ("staff", "triage", "/staff/triage/"),
    ("staff", "suspicious", "/staff/suspicious/"),
    ("staff", "denormalisations", "/staff/denormalisations/"),
    ("staff", "cache", "/staff/cache/"),
]


@pytest.fixture
def world(site, settings, tags, editor):
    party = factories.make_party("Oak Alliance")
    member = factories.make_member(party=party, name="Jo Member")
    doc = factories.make_document(member=member, pages=6, title="Additional costs allowance 2007-08")
    assignment = factories.make_assignment(
        members=[member], featured=Assignment.Featured.MAIN, slug="jo-member", threshold=1
    )
    Assignment.objects.filter(pk=assignment.pk).update(title="Jo Member's expenses", page_count=6)
    pages = list(doc.pages.select_related("document").order_by("number"))
    write_page_images(pages, settings.MEDIA_ROOT)
    build_denormalisations()
    reviewer = factories.make_user("alice")
    review(reviewer, pages[0], "receipt", "investigate-this", assignment=assignment)
    review(reviewer, pages[1], "claim-form", assignment=assignment)
    create_discovery(
        page_id=pages[0].pk, title="A £900 television", note="Look at the total.", created_by=editor
    )
    names = {
        "assignment": assignment.slug,
        "page": pages[0].pk,
        "open_page": pages[5].pk,  # still needs a review: its screen has the editor's rotation form
        "document": doc.pk,
        "party": party.slug,
        "member": member.slug,
        "reviewer": reviewer.username,
    }
    return site, names, editor


def _staff_cookie(editor) -> str:
    client = Client()
    client.force_login(editor)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


TAB_STOPS = 30  # the first stops of each page: header, navigation and the page's own controls

_FOCUS_DRAWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'none';
  // A tag's checkbox is drawn by its label (site.css: .tag-toggle:has(input:focus-visible)).
  const drawn = el.closest('.tag-toggle') || el;
  const s = getComputedStyle(drawn);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return outline || shadow ? '' : (el.outerHTML || '').slice(0, 100);
}"""


def _focus_not_shown(page) -> list[str]:
    """Tab through the page from the top: every element that takes focus must draw it (WCAG
    2.4.7). Returns a line per element that does not."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    missing = []
    for _ in range(TAB_STOPS):
        page.keyboard.press("Tab")
        found = page.evaluate(_FOCUS_DRAWN)
        if found == "none":
            break  # past the last stop
        if found:
            missing.append(f"focus-visible: no focus indicator on {found}")
    return missing


def _leaderboards_read_right(page) -> list[str]:
    """A leaderboard shows one rank per row, its own ("=2" for ties): the list draws no number."""
    found = []
    for board in page.locator("ol.leaderboard").all():
        if board.evaluate("ol => getComputedStyle(ol).listStyleType") != "none":
            found.append("leaderboard: the list draws its own numbers beside the ranks")
        for rank in board.locator("[data-rank]").all_inner_texts():
            if not re.fullmatch(r"=?\d+", rank):
                found.append(f"leaderboard: rank {rank!r} is not one number")
    return found


def _violations(axe: Axe, page) -> list[str]:
    results = axe.run(page, options=AXE_OPTIONS)
    found = []
    for v in results.response["violations"]:
        if v["impact"] in BLOCKING:
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
            found.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return found


@pytest.mark.parametrize("width", list(WIDTHS))
def test_no_serious_or_critical_axe_violation_on_any_page(browser, world, width):
    site, names, editor = world
    axe = Axe()
    report: dict[str, list[str]] = {}
    checked = []
    contexts = {
        "public": browser.new_context(viewport=WIDTHS[width]),
        "visitor": browser.new_context(viewport=WIDTHS[width]),
        "staff": browser.new_context(viewport=WIDTHS[width]),
    }
    contexts["staff"].add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": _staff_cookie(editor), "url": site.url}]
    )
    tabs = {who: context.new_page() for who, context in contexts.items()}
    try:
        for who, name, path in PAGES:
            tab = tabs[who]
            if path == "review":
                tab.goto(f"{site.url}/assignments/{names['assignment']}/start/")
                assert re.search(r"/review/\d+/$", tab.url), tab.url
            elif path == "review-after":
                first = tab.url
                tab.keyboard.press("r")
                # Submitted by click: the fast path swaps the next page in place, else it loads.
                tab.locator("#review-form button[value=submit]").click()
                tab.wait_for_function("url => location.href !== url", arg=first)
                tab.wait_for_load_state("load")
                assert tab.locator("#page-image").evaluate("img => img.complete")
            else:
                response = tab.goto(site.url + path.format(**names))
                assert response.status == 200, (name, response.status)
            checked.append(name)
            found = _violations(axe, tab) + _focus_not_shown(tab) + _leaderboards_read_right(tab)
            if found:
                report[name] = found
    finally:
        for context in contexts.values():
            context.close()
    assert checked == [name for _, name, _ in PAGES]
    assert report == {}, "\n".join(f"{page}: {v}" for page, vs in report.items() for v in vs)


def test_the_checks_find_planted_violations(browser):
    """Both checks fail where they should: a page with low-contrast text, an image without alt
    text and a link whose focus is hidden."""
    context = browser.new_context(viewport=WIDTHS["laptop"])
    tab = context.new_page()
    tab.set_content(
        """<!doctype html><html lang="en"><head><title>Planted</title>
        <style>a:focus { outline: none; box-shadow: none; } p { color: #bbb; }</style></head>
        <body><main><h1>Planted</h1><p>Pale text on white</p><img src="data:," width="10" height="10">
        <a href="#x">A link</a></main></body></html>"""
    )
    found = " ".join(_violations(Axe(), tab))
    assert "color-contrast (serious)" in found and "image-alt (critical)" in found
    assert _focus_not_shown(tab) == ['focus-visible: no focus indicator on <a href="#x">A link</a>']
    context.close()
