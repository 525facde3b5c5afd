"""An editor at 1280 px creates a DRAFT assignment in the admin, choosing documents with the
autocomplete (and seeing the size of the selection before saving), previews it on the site
(the public gets a 404 meanwhile), and publishes it."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from assignments.models import Assignment
from tests import factories
from tests.browser.conftest import LAPTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp"


@pytest.fixture
def release(site, tags):
    member = factories.make_member(name="Jo Member")
    factories.make_document(member=member, pages=3, title="Additional costs allowance 2007-08")
    factories.make_document(pages=2, title="Travel claims 2008")
    for n in range(30):  # a release is big: the picker must not list everything
        factories.make_document(pages=1, title=f"Filler document {n:02d}")
    return site


def test_an_editor_creates_a_draft_with_the_autocomplete_previews_and_publishes_it(browser, release, editor):
    editor.set_password("editor secret 42")
    editor.save()
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(release.url + "/admin/login/?next=/admin/assignments/assignment/add/")
    page.fill("#id_username", editor.username)
    page.fill("#id_password", "editor secret 42")
    with page.expect_navigation():
        page.click("input[type=submit]")

    page.fill("#id_title", "Travel, first look")
    assert page.locator("#id_status").input_value() == "draft"  # new assignments start as drafts
    assert not page.locator("#id_active").is_checked()
    # The documents field is an autocomplete: type, then pick.
    page.locator(".field-documents .select2-selection").click()
    page.locator(".field-documents .select2-search__field").fill("Travel")
    page.locator(".select2-results__option", has_text="Travel claims 2008").click()
    # A locator assertion, not wait_for_function: that evaluates a string, which the site's
    # Content-Security-Policy (no unsafe-eval) refuses.
    expect(page.locator("#scope-size")).to_contain_text("2 pages")
    assert "2 pages in 1 documents" in page.locator("#scope-size").inner_text()
    page.screenshot(path=f"{SHOTS}/ux-admin-draft-form-1280.png", full_page=True)
    with page.expect_navigation():
        page.click("input[name=_continue]")

    assignment = Assignment.objects.get(title="Travel, first look")
    assert assignment.is_draft and not assignment.active
    assert set(assignment.documents.values_list("title", flat=True)) == {"Travel claims 2008"}
    assert Client().get(f"/assignments/{assignment.slug}/").status_code == 404  # the public

    # Preview: the public page as it will look, marked as a draft, with the pages it covers.
    with page.expect_navigation():
        page.click("#preview-draft")
    assert "Draft preview" in page.locator(".draft-banner").inner_text()
    assert page.locator(".preview-pages li").count() == 2
    page.screenshot(path=f"{SHOTS}/ux-draft-preview-1280.png", full_page=True)
    page.go_back()

    with page.expect_navigation():
        page.click("#publish-assignment")
    assert "is published" in page.locator(".messagelist").inner_text()
    page.screenshot(path=f"{SHOTS}/ux-admin-published-1280.png")
    assignment.refresh_from_db()
    assert not assignment.is_draft and assignment.active
    public = Client().get(f"/assignments/{assignment.slug}/")
    assert public.status_code == 200 and "Start reviewing" in public.content.decode()

    # The changelist fits the laptop's width.
    page.goto(release.url + "/admin/assignments/assignment/")
    page.screenshot(path=f"{SHOTS}/ux-admin-assignments-1280.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    # Every column in view: the results table does not scroll sideways inside its box.
    assert page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; })()"
    )
    page.screenshot(path=f"{SHOTS}/ux-admin-assignments-1280.png")
    page.goto(release.url + "/admin/catalogue/document/")
    page.screenshot(path=f"{SHOTS}/ux-admin-documents-1280.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    assert page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; })()"
    )
    # Newest first: the last document made heads the list.
    assert "Filler document 29" in page.locator("#result_list tbody tr").first.inner_text()
    page.screenshot(path=f"{SHOTS}/ux-admin-documents-1280.png")
    context.close()
