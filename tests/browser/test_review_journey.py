"""A new visitor, in a real browser: home -> start -> tags a page with the keyboard -> submits ->
sees the progress bar advance and a different page -> skips one -> claims the account -> logs
out and back in -> finds the reviews on their profile. Screenshots at phone and laptop widths.

Each journey runs on the picker's hot path (the Redis sets built from the release) and ends by
checking that every next page was served from Redis and none by the memcached pool or Postgres."""

from __future__ import annotations

import re

import pytest

from assignments import picker_stats
from assignments.models import Assignment
from reviews.models import Review, Skip
from tests import factories
from tests.browser.conftest import LAPTOP, PHONE, build_denormalisations, write_page_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_URL = re.compile(r".*/review/(\d+)/$")


@pytest.fixture
def release(site, settings, tags):
    member = factories.make_member(name="Jo Member")
    doc = factories.make_document(member=member, pages=5, title="Additional costs allowance 2007-08")
    alt_doc = factories.make_document(pages=2, title="Travel claims")
    main = factories.make_assignment(members=[member], featured=Assignment.Featured.MAIN, slug="jo-member")
    Assignment.objects.filter(pk=main.pk).update(
        title="Jo Member's expenses", description="Every page of one member's claims.", page_count=5
    )
    alt = factories.make_assignment(documents=[alt_doc], featured=Assignment.Featured.ALTERNATIVE)
    Assignment.objects.filter(pk=alt.pk).update(title="Travel", page_count=2)
    write_page_images(
        [*doc.pages.select_related("document"), *alt_doc.pages.select_related("document")],
        settings.MEDIA_ROOT,
    )
    build_denormalisations()
    return site, doc


def progress(page) -> tuple[int, int]:
    bar = page.locator("progress").first
    return int(bar.get_attribute("value")), int(bar.get_attribute("max"))


def current_page_id(page) -> int:
    match = REVIEW_URL.match(page.url)
    assert match, page.url
    return int(match.group(1))


def served_from_redis(picks: int, *, nothing_left: int = 0) -> dict[str, int]:
    """What the picker's counts must be after ``picks`` next pages all served from Redis (no
    pool, no Postgres) and ``nothing_left`` "nothing left for you here" answers."""
    expected = {picker_stats.REDIS: picks}
    if nothing_left:
        expected[picker_stats.NOTHING_LEFT] = nothing_left
    return expected


def test_a_new_visitor_reviews_skips_claims_and_finds_their_reviews(
    browser, release, artifacts, picker_sources
):
    site, doc = release
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    page.goto(site.url + "/")
    page.screenshot(path=artifacts / "home-1280.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="Start reviewing").click()

    # The review screen: the page image loads from MEDIA_URL, progress 0 of 5.
    first = current_page_id(page)
    assert doc.pages.filter(pk=first).exists()
    image = page.locator("img#page-image")
    assert image.get_attribute("alt").startswith("Scan of page")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 700
    assert progress(page) == (0, 5)
    page.screenshot(path=artifacts / "review-1280.png", full_page=True)

    # Keyboard only: R and H toggle their tags, R again untoggles and toggles back, Enter submits.
    page.keyboard.press("r")
    page.keyboard.press("h")
    page.keyboard.press("c")
    page.keyboard.press("c")
    assert page.locator('input[name="tags"][value="receipt"]').is_checked()
    assert page.locator('input[name="tags"][value="hand-written"]').is_checked()
    assert not page.locator('input[name="tags"][value="claim-form"]').is_checked()
    assert "Chosen: Receipt, Hand written." in page.locator("#chosen").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    second = current_page_id(page)
    assert second != first
    assert progress(page) == (1, 5)
    assert page.locator("#own-count").inner_text() == "1"
    review = Review.objects.get(page_id=first)
    assert set(review.tags.values_list("slug", flat=True)) == {"receipt", "hand-written"}
    username = review.reviewer.username
    assert username.startswith("anon-")

    # Skip with its key: nothing recorded against the threshold, and a different page next.
    skip_key = page.locator("#review-form").get_attribute("data-skip-key")
    with page.expect_navigation():
        page.keyboard.press(skip_key)
    third = current_page_id(page)
    assert third not in (first, second)
    assert progress(page) == (1, 5)
    assert Skip.objects.filter(page_id=second, reviewer__username=username).exists()

    # One more with no tags ("nothing of note"), by clicking this time.
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Submit")).click()
    assert current_page_id(page) not in (first, second, third)
    assert progress(page) == (2, 5)

    # Claim the account, keeping the reviews.
    with page.expect_navigation():
        page.get_by_role("link", name="Save your account").click()
    page.get_by_label("Username").fill("Night_Owl")
    page.get_by_label("Email").fill("owl@example.org")
    page.get_by_label("Password", exact=True).fill("correct horse battery 9")
    page.get_by_label("Password again").fill("correct horse battery 9")
    page.screenshot(path=artifacts / "claim-1280.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Save my account").click()
    assert page.url.endswith("/users/Night_Owl/")
    assert "Welcome, Night_Owl!" in page.content()

    # Log out, log back in, find the reviews on the profile.
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in").is_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("Night_Owl")
    page.get_by_label("Password").fill("correct horse battery 9")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.goto(site.url + "/users/Night_Owl/")
    buckets = page.locator("section.bucket h2").all_inner_texts()
    assert buckets == ["Receipt 1", "Hand written 1", "Nothing of note 1"]
    assert page.locator(f'a[data-page-id="{first}"]').count() == 2  # in both of its tag buckets
    assert page.locator(f'a[data-page-id="{second}"]').count() == 0  # skipped, not reviewed
    page.screenshot(path=artifacts / "profile-1280.png", full_page=True)

    # The reviewer may now see what others found on a page they reviewed.
    with page.expect_navigation():
        page.locator(f'a[data-page-id="{first}"]').first.click()
    assert page.locator(".tag-counts").is_visible()
    assert errors == []
    context.close()
    # Four next pages (start, after the first submit, after the skip, after the second submit).
    assert picker_sources() == served_from_redis(4)


def test_the_review_screen_works_on_a_phone(browser, release, artifacts, picker_sources):
    site, doc = release
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(site.url + "/")
    page.screenshot(path=artifacts / "home-360.png", full_page=True)
    with page.expect_navigation():
        page.get_by_role("link", name="Start reviewing").click()
    current_page_id(page)
    # Nothing wider than the screen: no sideways scrolling of the whole page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=artifacts / "review-360.png", full_page=True)

    # Zoom: the image doubles in width inside its own scrolling frame, and back.
    frame = page.locator("#page-frame")
    before = page.locator("#page-image").bounding_box()["width"]
    page.get_by_role("button", name=re.compile("Zoom in")).tap()
    assert "is-zoomed" in frame.get_attribute("class")
    assert page.locator("#page-image").bounding_box()["width"] >= 1.9 * before
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=artifacts / "review-zoomed-360.png")
    page.get_by_role("button", name=re.compile("Zoom out")).tap()
    assert "is-zoomed" not in frame.get_attribute("class")

    # Tapping tag buttons works like the keys.
    page.locator("label.tag-toggle", has_text="Claim form").tap()
    assert page.locator('input[name="tags"][value="claim-form"]').is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Submit")).tap()
    assert progress(page) == (1, 5)
    page.screenshot(path=artifacts / "review-after-submit-360.png", full_page=True)
    context.close()
    assert picker_sources() == served_from_redis(2)


def test_a_reviewer_who_finished_an_assignment_is_offered_the_others(
    browser, release, artifacts, picker_sources
):
    site, _doc = release
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start Travel").click()
    seen = set()
    for _ in range(2):
        seen.add(current_page_id(page))
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert len(seen) == 2
    assert page.url.endswith("/done/")
    assert page.get_by_role("heading", name="Nothing left for you here").is_visible()
    assert page.get_by_role("link", name="Start Jo Member's expenses").is_visible()
    page.screenshot(path=artifacts / "done-1280.png", full_page=True)
    context.close()
    # Two pages from Redis, then Redis's empty to-do set confirmed by Postgres: nothing left.
    assert picker_sources() == served_from_redis(2, nothing_left=1)
