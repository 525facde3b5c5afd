"""The review cycle does no work it need not (found by bench/profile_cycle.py): the tag set's
HTML is rendered once per tag set yet shows an editor's change at once, the current assignment
is looked up once per submit, and the receivers after a review's commit read nothing back from
Postgres that the action already knew."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assignments.models import Assignment
from catalogue.models import Tag
from frontdesk import review_screen
from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(tags):
    member = factories.make_member(party=factories.make_party())
    doc = factories.make_document(member=member, pages=4, title="Expenses 2008")
    assignment = factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN)
    return doc, list(doc.pages.order_by("number")), assignment


def _controls(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="checkbox" name="tags" value="([^"]+)" data-key="([^"]+)"', html)


def test_an_edited_tag_set_shows_at_once_on_the_review_screen(client, release, tags):
    _, pages, _ = release
    review_screen._TAG_CONTROLS.clear()  # other tests' tag sets (their own tag ids) may fill it to its limit
    first = client.get(f"/review/{pages[0].pk}/").content.decode()
    assert ("receipt", "r") in _controls(first)
    assert "<kbd>R</kbd> Receipt (on/off)" in first  # the shortcut list
    cached = len(review_screen._TAG_CONTROLS)

    tag = Tag.objects.get(slug="receipt")
    tag.name, tag.key, tag.description = "Till receipt", "t", "A <b>shop</b> receipt"
    tag.save()
    Tag.objects.filter(slug="hand-written").update(active=False)
    html = client.get(f"/review/{pages[1].pk}/").content.decode()
    assert _controls(html) == [("receipt", "t"), ("claim-form", "c"), ("investigate-this", "i")]
    assert "Till receipt" in html and "<kbd>T</kbd> Till receipt (on/off)" in html
    assert "A &lt;b&gt;shop&lt;/b&gt; receipt" in html and "<b>shop</b>" not in html  # still escaped
    assert len(review_screen._TAG_CONTROLS) == cached + 1


def test_the_tag_set_is_rendered_once_for_every_reviewer_and_page(release, tags, monkeypatch):
    _, pages, _ = release
    review_screen._TAG_CONTROLS.clear()
    rendered = []
    real = review_screen.render_to_string
    monkeypatch.setattr(
        review_screen, "render_to_string", lambda name, context: rendered.append(name) or real(name, context)
    )
    for page in pages:
        assert Client().get(f"/review/{page.pk}/").status_code == 200
    assert rendered == ["reviews/_tag_set.html", "reviews/_shortcuts.html"]


def test_a_submit_looks_up_the_current_assignment_once(release):
    _, pages, assignment = release
    client = Client()
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})  # creates the account
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/review/{pages[1].pk}/", {"action": "submit", "tags": ["receipt"]})
    assert response.status_code == 302 and response.url.startswith("/review/")
    lookups = [
        q["sql"] for q in ctx.captured_queries if 'FROM "assignments_assignment" a WHERE a.active' in q["sql"]
    ]
    assert len(lookups) == 1


@pytest.mark.django_db(transaction=True)
def test_receivers_after_commit_read_no_tags_or_owners_back(release, tags):
    doc, pages, assignment = release
    reviewer = factories.make_user("owner-reader")
    with CaptureQueriesContext(connection) as ctx:
        submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt", "claim-form"])
    sqls = [q["sql"] for q in ctx.captured_queries]
    after_commit = sqls[next(i for i, s in enumerate(sqls) if s == "COMMIT") + 1 :]
    assert not [s for s in after_commit if '"reviews_tag"' in s or '"reviews_document"' in s]


def test_a_new_reviews_tags_are_written_without_reading_them_first(release, tags):
    _, pages, _ = release
    reviewer = factories.make_user("tagger")
    with CaptureQueriesContext(connection) as ctx:
        outcome = submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt", "claim-form"])
    assert sorted(outcome.review.tags.values_list("slug", flat=True)) == ["claim-form", "receipt"]
    sqls = [q["sql"].replace('"', "") for q in ctx.captured_queries]
    through = [s for s in sqls if "reviews_review_tags" in s]
    # One statement names the through table (sent with the review's other counters): the insert.
    assert len(through) == 1 and "INSERT INTO reviews_review_tags" in through[0]
    assert "FROM reviews_review_tags" not in through[0] and "JOIN reviews_review_tags" not in through[0]
