"""The reading views: /pages/<id>/ (neighbours, links, text, marks) and /documents/<id>/ (grid,
tags, discoveries, assignments, text, scoped search); the review screen never shows marks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalogue.models import Page
from moderation.actions import takedown
from reviews.actions.reviews import submit_review
from reviews.models import Discovery
from tests import factories
from tests.search.support import import_pdf, text_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(tmp_path, media_root, django_capture_on_commit_callbacks, tags):
    member = factories.make_member(factories.make_party("Purple"), "Jo Member")
    with django_capture_on_commit_callbacks(execute=True):
        return import_pdf(
            tmp_path,
            "d.pdf",
            text_pdf(
                [
                    "First page: mileage claim",
                    "Second page: duck house invoice\nline two here",
                    "Third page: letter",
                    "Fourth page",
                ]
            ),
            member=member,
            title="Claims 2008",
        )


def pages_of(document) -> list[Page]:
    return list(Page.objects.filter(document=document).order_by("number"))


def test_a_page_links_its_neighbours_document_member_and_party(document, client):
    first, second, third, _fourth = pages_of(document)
    html = client.get(f"/pages/{second.pk}/").content.decode()
    assert f'href="/pages/{first.pk}/" rel="prev"' in html
    assert f'href="/pages/{third.pk}/" rel="next"' in html
    assert f'href="/documents/{document.pk}/"' in html
    assert f'href="{document.member.get_absolute_url()}"' in html
    assert f'href="{document.member.party.get_absolute_url()}"' in html
    # The text beside the scan, a permalink anchor per line.
    assert 'id="line-1"' in html and 'href="#line-2"' in html and "line two here" in html


def test_the_public_skips_a_withdrawn_neighbour(document, client, editor, django_capture_on_commit_callbacks):
    first, second, third, fourth = pages_of(document)
    with django_capture_on_commit_callbacks(execute=True):
        takedown.withdraw_page(third, by=editor, reason="personal data")
    html = Client().get(f"/pages/{second.pk}/").content.decode()
    assert f'href="/pages/{fourth.pk}/" rel="next"' in html and f"/pages/{third.pk}/" not in html
    client.force_login(editor)
    html = client.get(f"/pages/{second.pk}/").content.decode()
    assert f'href="/pages/{third.pk}/" rel="next"' in html


def test_q_marks_the_words_on_the_scan_and_in_the_text(document, client):
    second = pages_of(document)[1]
    html = client.get(f"/pages/{second.pk}/", {"q": "duck invoices"}).content.decode()
    assert html.count('class="word-mark"') == 2
    assert f'viewBox="0 0 {second.width} {second.height}"' in html
    assert "<mark>duck</mark>" in html and "<mark>invoice</mark>" in html
    assert 'style="' not in html and "<script>" not in html  # CSP: no inline style or script
    # The neighbour links carry the search on.
    assert "?q=duck+invoices" in html or "?q=duck%20invoices" in html
    # Without q, or with words not on the page, nothing is marked.
    assert 'class="word-mark"' not in client.get(f"/pages/{second.pk}/").content.decode()
    assert 'class="word-mark"' not in client.get(f"/pages/{second.pk}/", {"q": "elephant"}).content.decode()
    # Excluded words are not marked.
    html = client.get(f"/pages/{second.pk}/", {"q": "duck -invoice"}).content.decode()
    assert html.count('class="word-mark"') == 1


def test_the_review_screen_never_shows_marks(document, client, reviewer):
    second = pages_of(document)[1]
    factories.make_assignment(documents=[document])
    client.force_login(reviewer)
    response = client.get(f"/review/{second.pk}/", {"q": "duck"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "word-mark" not in html and "<mark>" not in html


def test_a_page_links_the_tag_listings_it_appears_in(document, client, reviewer):
    second = pages_of(document)[1]
    submit_review(reviewer=reviewer, page_id=second.pk, tag_slugs=["receipt"], only_open_pages=False)
    html = Client().get(f"/pages/{second.pk}/").content.decode()
    assert 'href="/tags/receipt/"' in html
    assert f'href="/members/{document.member.slug}/tags/receipt/"' in html or "/tags/receipt/" in html


def test_the_document_shows_every_page_with_tags_discoveries_assignments_and_text(document, reviewer, editor):
    first, second, third, fourth = pages_of(document)
    assignment = factories.make_assignment(documents=[document], slug="claims")
    submit_review(reviewer=reviewer, page_id=second.pk, tag_slugs=["receipt"], only_open_pages=False)
    Discovery.objects.create(page=third, title="The duck house", created_by=editor)
    html = Client().get(f"/documents/{document.pk}/").content.decode()
    assert html.count('class="page-grid__cell') == 4
    for page in (first, second, third, fourth):
        assert f'href="/pages/{page.pk}/"' in html and f"Page {page.number}" in html
    assert "page-grid__cell--discovery" in html
    assert '<span class="tag-pill">Receipt</span> 1' in html or "tag-pill" in html
    assert assignment.get_absolute_url() in html
    assert "duck house invoice" in html  # the text column
    assert f'name="document" value="{document.pk}"' in html  # the scoped search box


def test_the_documents_scoped_search(document, client, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        import_pdf(tmp_path, "other.pdf", text_pdf(["Another duck elsewhere"]), title="Other")
    response = client.get("/search/", {"q": "duck", "document": str(document.pk), "pages": "all"})
    assert [h.page.document_id for h in response.context["results"].pages] == [document.pk]
    assert client.get("/search/", {"q": "duck", "document": "x"}).status_code == 400


def test_reading_views_cost_the_same_queries_however_many_pages(
    tmp_path, media_root, django_capture_on_commit_callbacks, client
):
    def counts(doc):
        page = Page.objects.filter(document=doc).order_by("number")[1]
        with CaptureQueriesContext(connection) as on_document:
            assert client.get(f"/documents/{doc.pk}/").status_code == 200
        with CaptureQueriesContext(connection) as on_page:
            assert client.get(f"/pages/{page.pk}/", {"q": "words"}).status_code == 200
        return len(on_document), len(on_page)

    with django_capture_on_commit_callbacks(execute=True):
        small = import_pdf(tmp_path, "s.pdf", text_pdf(["some words"] * 2), title="Small")
        large = import_pdf(tmp_path, "l.pdf", text_pdf([f"more words {n}" for n in range(12)]), title="Large")
    assert counts(small) == counts(large)
