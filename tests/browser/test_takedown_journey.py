"""A takedown, end to end in a real browser with the page cache on: an editor signs in to the
admin, selects a page on the Pages changelist, chooses "Withdraw selected pages…", is asked
why (submitting without a reason is refused), gives one and confirms; a visitor who had the page
open (and cached) now gets the "withdrawn" page and no image, while the editor sees the page
with its banner and reinstates it from there."""

from __future__ import annotations

import pytest
from django.test import testcases

from catalogue.models import Page
from moderation.models import Withdrawal
from reviews.actions import submit_review
from tests import factories
from tests.browser.conftest import LAPTOP, build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_withdraws_a_page_in_the_admin_and_reinstates_it(
    browser, site, settings, tags, editor, reviewer, artifacts, monkeypatch
):
    # The live server answers /media/ itself, before any URL (Django's test shortcut): send it
    # to the site's media route instead, the gate that SERVE_MEDIA and nginx both go through.
    monkeypatch.setattr(testcases._MediaFilesHandler, "_should_handle", lambda self, path: False)
    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_SOFT_SECONDS = 0
    member = factories.make_member(name="Jo Member", party=factories.make_party(name="Purple"))
    doc = factories.make_document(member=member, pages=2, title="Additional costs allowance 2007-08")
    factories.make_assignment(members=[member], featured="main", slug="jo-member")
    pages = list(doc.pages.select_related("document").order_by("number"))
    write_page_images(pages, settings.MEDIA_ROOT)
    target = pages[0]
    submit_review(reviewer=reviewer, page_id=target.pk, tag_slugs=["receipt"])
    build_denormalisations()

    visitor = browser.new_context(viewport=LAPTOP)
    public = visitor.new_page()
    assert public.goto(site.url + f"/pages/{target.pk}/").status == 200
    assert public.goto(site.url + f"/pages/{target.pk}/").headers.get("x-page-cache") == "hit"
    assert public.locator("img.page-image").evaluate("img => img.naturalWidth") > 0
    public.goto(site.url + "/tags/receipt/")
    assert public.locator(f'a[href="/pages/{target.pk}/"]').count() > 0

    desk = browser.new_context(viewport=LAPTOP)
    staff = desk.new_page()
    errors: list[str] = []
    staff.on("pageerror", lambda exc: errors.append(str(exc)))
    staff.goto(site.url + f"/admin/catalogue/page/?document__id__exact={doc.pk}")
    staff.get_by_label("Username").fill(editor.username)
    staff.get_by_label("Password").fill("pw-123456!")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Log in").click()
    staff.locator(f'input.action-select[value="{target.pk}"]').check()
    staff.locator('select[name="action"]').select_option("withdraw_pages")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Go").click()
    assert "Withdraw selected pages" in staff.title()
    assert str(target) in staff.locator("#content").inner_text()
    staff.get_by_label("Reason").evaluate("el => el.removeAttribute('required')")  # try without
    with staff.expect_navigation():
        staff.get_by_role("button", name="Withdraw pages").click()
    assert "a reason is required" in staff.locator(".errornote").inner_text()
    assert not Withdrawal.objects.exists()
    staff.get_by_label("Reason").fill("A constituent's home address on a letter")
    staff.screenshot(path=artifacts / "takedown-admin-form-1280.png", full_page=True)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Withdraw pages").click()
    assert "Withdrawn 1" in staff.locator(".messagelist").inner_text()
    assert Page.objects.get(pk=target.pk).withdrawn_at is not None

    gone = public.goto(site.url + f"/pages/{target.pk}/")
    assert gone.status == 410 and "withdrawn" in public.locator("main").inner_text()
    public.screenshot(path=artifacts / "takedown-public-410-1280.png", full_page=True)
    assert public.request.get(site.url + target.image.url).status == 410
    assert public.request.get(site.url + target.thumbnail.url).status == 410
    public.goto(site.url + "/tags/receipt/")
    assert public.locator(f'a[href="/pages/{target.pk}/"]').count() == 0
    public.screenshot(path=artifacts / "takedown-public-listing-1280.png", full_page=True)

    staff.goto(site.url + f"/pages/{target.pk}/")
    banner = staff.locator(".withdrawn-banner")
    assert "A constituent's home address on a letter" in banner.inner_text()
    assert staff.locator("img.page-image").evaluate("img => img.naturalWidth") > 0  # staff see it
    staff.screenshot(path=artifacts / "takedown-staff-page-1280.png", full_page=True)
    with staff.expect_navigation():
        banner.get_by_role("button", name="Reinstate this page").click()
    assert staff.locator(".withdrawn-banner").count() == 0
    assert public.goto(site.url + f"/pages/{target.pk}/").status == 200
    assert public.locator("img.page-image").evaluate("img => img.naturalWidth") > 0
    assert errors == []
    visitor.close()
    desk.close()
