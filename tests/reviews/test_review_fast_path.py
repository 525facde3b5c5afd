"""The review screen's fast path (issue 13): with ``Accept: application/json`` (what
static/js/review.js sends) a submit answers with the next screen's data instead of a redirect,
so a review costs the browser one request. Same checks, same writes, same refusals as the
plain form; only the shape of a successful answer differs."""

from __future__ import annotations

import pytest
from django.test import Client

from assignments.models import Assignment
from catalogue.models import Page
from reviews.models import Review, Skip
from tests import factories
from tests.assignments._picker_support import build_sets
from tests.reviews._review_client import CSRF, first_page, post, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(tags):
    member = factories.make_member(name="Ann <b>Example</b>", party=factories.make_party())
    doc = factories.make_document(pages=8, member=member, title="Costs <script>alert(1)</script>")
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    build_sets()
    return list(doc.pages.order_by("number").values_list("pk", flat=True))


def test_a_new_visitor_reviews_three_pages_with_one_request_each(pages):
    client = Client(enforce_csrf_checks=True)
    current = first_page(client)
    form = screen(client, current)
    csrf, first_write, seen = form["csrf"], form["first_write"], [current]
    for n in range(3):
        response = post(client, current, csrf, first_write=first_write, tags=["receipt"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert "no-cache" in response["Cache-Control"]  # personal: never stored by a cache
        answer = response.json()
        assert answer["recorded"] is True
        page = answer["page"]
        assert answer["url"] == f"/review/{page['id']}/"
        assert page["id"] in pages and page["id"] not in seen
        expected = Page.objects.select_related("document__member").get(pk=page["id"])
        assert page["number"] == expected.number and page["image"] == expected.image.url
        assert page["title"] == "Costs <script>alert(1)</script>"  # data: the script sets it as text
        assert page["member"] == "Ann <b>Example</b>"
        assert page["detail_url"] == f"/pages/{page['id']}/"
        assert answer["own_count"] == n + 1
        assert answer["tagset"] == form["tagset"]
        assert answer["progress"].strip().startswith('<div class="progress')  # the screen's own markup
        # The following page's image, reserved for this reviewer now, for the browser to fetch.
        assert answer["prefetch"].startswith("/media/") and answer["prefetch"] != page["image"]
        # The next POST goes with the answer's token (the first submit logged the visitor in,
        # which rotated it) and no first-write token.
        csrf, first_write, current = answer["csrf"], None, page["id"]
        seen.append(current)
    assert Review.objects.filter(page_id__in=seen[:3]).count() == 3
    assert len({r.reviewer_id for r in Review.objects.all()}) == 1
    # The page the last answer named is held for this reviewer: /review/next/ hands it back.
    assert client.get("/review/next/").url == f"/review/{current}/"


def test_the_prefetched_page_is_the_next_answer(pages, reviewer):
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    answer = post(client, current, screen(client, current)["csrf"]).json()
    following = Page.objects.get(image=answer["prefetch"].removeprefix("/media/")).pk
    second = post(client, answer["page"]["id"], answer["csrf"]).json()
    assert second["page"]["id"] == following


def test_a_skip_answers_the_same_way_and_records_no_review(pages, reviewer):
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    answer = post(client, current, screen(client, current)["csrf"], action="skip").json()
    assert answer["recorded"] is False and answer["page"]["id"] != current
    assert Skip.objects.filter(page_id=current).exists() and not Review.objects.exists()
    assert answer["own_count"] == 0


def test_a_double_submit_is_not_recorded_twice(pages, reviewer):
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    csrf = screen(client, current)["csrf"]
    assert post(client, current, csrf).json()["recorded"] is True
    again = post(client, current, csrf).json()
    assert again["recorded"] is False and again["own_count"] == 1
    assert Review.objects.count() == 1


def test_with_nothing_left_the_answer_names_the_done_page(tags, reviewer):
    doc = factories.make_document(pages=1)
    assignment = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    build_sets()
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    answer = post(client, current, screen(client, current)["csrf"]).json()
    assert answer["page"] is None and answer["recorded"] is True
    assert answer["url"] == f"/assignments/{assignment.slug}/done/"


@pytest.mark.parametrize(
    ("data", "status"),
    [({"tags": ["no-such-tag"]}, 400), ({"action": "neither"}, 400)],
)
def test_refusals_are_the_plain_error_pages_and_change_nothing(pages, reviewer, data, status):
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    response = post(client, current, screen(client, current)["csrf"], **data)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert not Review.objects.exists()


def test_a_forged_page_and_a_bad_token_change_nothing(pages, reviewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    current = first_page(client)
    csrf = screen(client, current)["csrf"]
    assert post(client, 2**62, csrf).status_code == 404
    assert post(client, current, "forged").status_code == 403
    assert not Review.objects.exists()


def test_switched_off_the_screen_offers_no_fast_path_and_a_submit_redirects(pages, reviewer, settings):
    settings.REVIEW_FAST_PATH = False
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    html = client.get(f"/review/{current}/").content.decode()
    assert "data-fast-path" not in html
    response = post(client, current, CSRF.search(html).group(1))
    assert response.status_code == 302 and response.url.startswith("/review/")
    assert Review.objects.count() == 1


def test_the_screen_offers_the_fast_path_with_its_tag_set_fingerprint(pages, reviewer, tags):
    client = Client()
    client.force_login(reviewer)
    current = first_page(client)
    before = screen(client, current)["tagset"]
    tag = tags["receipt"]
    tag.name = "Renamed"
    tag.save()
    # An editor's change gives the tag set a new fingerprint: the script sees the next answer's
    # differs from the form's and loads the next screen whole, with the new tags.
    answer = post(client, current, screen(client, current)["csrf"]).json()
    assert answer["tagset"] != before
