"""A find, end to end in a real browser: a visitor highlights a page ("Investigate this"), an
editor signs in, finds it at the top of the triage inbox and makes it a discovery with one
click and a title, and the home page shows the discovery credited to that visitor, whose name
is also on the 48-hour table."""

from __future__ import annotations

import re

import pytest

from assignments.models import Assignment
from contributors.models import TriageDecision
from reviews.models import Discovery, Review
from tests import factories
from tests.browser.conftest import LAPTOP, build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_URL = re.compile(r".*/review/(\d+)/$")


def test_a_highlighted_page_becomes_a_discovery_credited_on_the_home_page(
    browser, site, settings, tags, editor, artifacts
):
    member = factories.make_member(name="Jo Member", party=factories.make_party(name="Purple"))
    doc = factories.make_document(member=member, pages=3, title="Additional costs allowance 2007-08")
    main = factories.make_assignment(members=[member], featured=Assignment.Featured.MAIN, slug="jo-member")
    Assignment.objects.filter(pk=main.pk).update(title="Jo Member's expenses", page_count=3)
    write_page_images(list(doc.pages.select_related("document")), settings.MEDIA_ROOT)
    build_denormalisations()

    visitor = browser.new_context(viewport=LAPTOP)
    page = visitor.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start reviewing").click()
    page_id = int(REVIEW_URL.match(page.url).group(1))
    page.keyboard.press("i")  # Investigate this (the highlighting tag)
    assert page.locator('input[name="tags"][value="investigate-this"]').is_checked()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    review = Review.objects.get(page_id=page_id)
    visitor_name = review.reviewer.username
    assert visitor_name.startswith("anon-")

    desk = browser.new_context(viewport=LAPTOP)
    staff = desk.new_page()
    staff.on("pageerror", lambda exc: errors.append(str(exc)))
    staff.goto(site.url + "/account/login/?next=/staff/triage/")
    staff.get_by_label("Username").fill(editor.username)
    staff.get_by_label("Password").fill("pw-123456!")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Log in").click()
    assert staff.url.endswith("/staff/triage/")
    item = staff.locator(f'li.triage-item[data-page-id="{page_id}"]')
    assert item.is_visible()
    assert "1 of 1 reviewer" in item.inner_text() and "Jo Member" in item.inner_text()
    item.get_by_text("Make it a discovery").click()
    item.get_by_label("Title").fill("A duck house on expenses")
    item.get_by_label("Note").fill("Claimed under 'garden maintenance'.")
    staff.screenshot(path=artifacts / "triage-1280.png", full_page=True)
    with staff.expect_navigation():
        item.get_by_role("button", name="Make discovery").click()
    assert staff.locator(f'li.triage-item[data-page-id="{page_id}"]').count() == 0
    discovery = Discovery.objects.get()
    assert (discovery.page_id, discovery.credited_id, discovery.created_by_id) == (
        page_id,
        review.reviewer_id,
        editor.pk,
    )
    assert TriageDecision.objects.get().editor_id == editor.pk

    page.goto(site.url + "/")
    panel = page.locator("section[aria-labelledby=discoveries]")
    assert "A duck house on expenses" in panel.inner_text()
    assert f"first highlighted by {visitor_name}" in panel.inner_text()
    assert panel.get_by_role("link", name=visitor_name).get_attribute("href") == f"/users/{visitor_name}/"
    top = page.locator("section[aria-labelledby=top-reviewers]")
    assert visitor_name in top.inner_text() and "You are #1" in top.inner_text()
    page.screenshot(path=artifacts / "home-discovery-1280.png", full_page=True)
    assert errors == []
    visitor.close()
    desk.close()
