"""Finished assignments and honest progress words: the home page leads with an assignment that
still needs work, and every progress bar says "N of M pages complete" and "K reviews so far"."""

import pytest

from assignments.denormalisations import recount_assignments
from assignments.models import Assignment
from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db


def make(slug, *, featured, pages=4, completed=0, feature_order=0):
    a = factories.make_assignment(slug=slug, featured=featured)
    Assignment.objects.filter(pk=a.pk).update(
        page_count=pages, completed_count=completed, feature_order=feature_order
    )
    return a


def test_the_main_assignment_leads_while_it_has_work(client):
    make("main", featured=Assignment.Featured.MAIN, completed=3)
    make("alt", featured=Assignment.Featured.ALTERNATIVE)
    html = client.get("/").content.decode()
    assert html.index('href="/assignments/main/start/"') < html.index('href="/assignments/alt/start/"')
    assert "is complete" not in html


def test_a_finished_main_gives_way_to_the_alternative_that_most_needs_help(client):
    make("main", featured=Assignment.Featured.MAIN, completed=4)
    make("nearly", featured=Assignment.Featured.ALTERNATIVE, pages=10, completed=9)
    make("needy", featured=Assignment.Featured.ALTERNATIVE, pages=10, completed=1, feature_order=5)
    html = client.get("/").content.decode()
    assert 'href="/assignments/main/start/"' not in html  # no "Start" that only thanks you
    hero = html.split('class="hero"', 1)[1].split("</section>", 1)[0]
    assert 'href="/assignments/needy/start/"' in hero and "Start reviewing" in hero
    assert "is complete: thank you" in html and 'href="/assignments/main/"' in html
    assert 'href="/assignments/nearly/start/"' in html  # still offered as an alternative


def test_a_finished_assignment_page_says_so_instead_of_start(client):
    make("main", featured=Assignment.Featured.MAIN, completed=4)
    html = client.get("/assignments/main/").content.decode()
    assert "Every page of this assignment is complete" in html
    assert 'href="/assignments/main/start/"' not in html


def test_progress_words_say_complete_and_reviews_so_far(client, reviewer, reviewer2, tags):
    """The bug: "0 of 3 pages reviewed" after two of three pages got reviews (threshold 2)."""
    doc = factories.make_document(pages=3)
    a = factories.make_assignment(documents=[doc], threshold=2, featured=Assignment.Featured.MAIN, slug="t2")
    pages = list(doc.pages.order_by("number"))
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=[], assignment_id=a.pk)
    submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=[], assignment_id=a.pk)
    submit_review(reviewer=reviewer2, page_id=pages[0].pk, tag_slugs=[], assignment_id=a.pk)
    a.refresh_from_db()
    assert (a.completed_count, a.review_count) == (1, 3)  # counted by the reviews themselves
    recount_assignments([a.pk])  # the registry's rebuild agrees
    a.refresh_from_db()
    assert (a.completed_count, a.page_count, a.review_count) == (1, 3, 3)
    client.force_login(reviewer2)
    for url in ["/", "/assignments/t2/", "/assignments/", f"/review/{pages[2].pk}/"]:
        html = client.get(url).content.decode()
        assert f'<progress id="progress-{a.pk}" value="1" max="3"' in html, url
        assert "1</strong> of 3 pages complete (33%)" in html, url
        assert "3 reviews so far" in html, url
        assert "pages reviewed" not in html, url
