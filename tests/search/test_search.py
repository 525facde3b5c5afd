"""/search/, /api/search/, the search feed and export: syntax, filters, visibility, pagination,
bad input, query counts."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from catalogue.models import Page
from moderation.actions import quarantine, takedown
from results.selectors import viewer_for
from reviews.actions.reviews import submit_review
from search import query as search_query
from search import selectors
from tests import factories
from tests.faults._fuzz import FUZZ, TEXT, assert_clear_answer, row_counts
from tests.search.support import import_pdf, text_pdf

pytestmark = pytest.mark.django_db

PUBLIC = viewer_for(AnonymousUser())


@pytest.fixture
def corpus(tmp_path, media_root, django_capture_on_commit_callbacks, tags):
    """Three text PDFs of two members in two parties."""
    labour, tory = factories.make_party("Labour"), factories.make_party("Conservative")
    ann, bob = factories.make_member(labour, "Ann Smith"), factories.make_member(tory, "Bob Jones")
    with django_capture_on_commit_callbacks(execute=True):
        duck = import_pdf(
            tmp_path,
            "duck.pdf",
            text_pdf(
                [
                    "Invoice for a floating duck house\nTotal 1,645 pounds",
                    "Moat cleaning at the manor\nGardener's invoice",
                    "A letter about the second home allowance",
                ]
            ),
            member=bob,
            title="Bob Jones claims 2008",
        )
        flat = import_pdf(
            tmp_path,
            "flat.pdf",
            text_pdf(["Mortgage interest on the London flat", "Invoice for a television and a duck lamp"]),
            member=ann,
            title="Ann Smith claims 2007",
        )
        orphan = import_pdf(
            tmp_path, "orphan.pdf", text_pdf(["Kitchen refit receipt, no member"]), title="Loose papers"
        )
    return {
        "duck": duck,
        "flat": flat,
        "orphan": orphan,
        "ann": ann,
        "bob": bob,
        "labour": labour,
        "tory": tory,
    }


def page(document, number) -> Page:
    return Page.objects.get(document=document, number=number)


def hits(q: str, *, viewer=PUBLIC, **kwargs) -> set[tuple[str, int]]:
    results = selectors.search(search_query.parse(q), viewer=viewer, every_page=True, limit=100, **kwargs)
    return {(hit.page.document.title, hit.page.number) for hit in results.pages}


def test_words_phrases_or_and_exclusion(corpus):
    assert hits("duck") == {("Bob Jones claims 2008", 1), ("Ann Smith claims 2007", 2)}
    assert hits("duck house") == {("Bob Jones claims 2008", 1)}
    # Stemming: "invoices" finds "invoice".
    assert ("Bob Jones claims 2008", 2) in hits("invoices")
    assert hits('"duck house"') == {("Bob Jones claims 2008", 1)}
    assert hits('"house duck"') == set()
    assert hits("duck -house") == {("Ann Smith claims 2007", 2)}
    assert hits("mortgage or moat") == {("Ann Smith claims 2007", 1), ("Bob Jones claims 2008", 2)}
    # The title and member name are searchable too (weight A) and rank first.
    assert ("Loose papers", 1) in hits("loose papers")
    results = selectors.search(search_query.parse("invoice"), viewer=PUBLIC, every_page=True)
    assert {h.page.number for h in results.pages} == {1, 2}


def test_each_filter_and_combinations(corpus, reviewer, reviewer2):
    duck, flat = corpus["duck"], corpus["flat"]
    factories.make_assignment(documents=[flat], slug="flats")
    assert hits(f"invoice member:{corpus['bob'].slug}") == {
        ("Bob Jones claims 2008", 1),
        ("Bob Jones claims 2008", 2),
    }
    assert hits(f"invoice party:{corpus['labour'].slug}") == {("Ann Smith claims 2007", 2)}
    assert hits(f"document:{duck.pk} invoice") == {("Bob Jones claims 2008", 1), ("Bob Jones claims 2008", 2)}
    assert hits("invoice assignment:flats") == {("Ann Smith claims 2007", 2)}
    # Filters alone (no words) list the matching pages.
    assert len(hits(f"document:{flat.pk}")) == 2
    submit_review(reviewer=reviewer, page_id=page(duck, 1).pk, tag_slugs=["receipt"], only_open_pages=False)
    submit_review(reviewer=reviewer, page_id=page(flat, 2).pk, tag_slugs=[], only_open_pages=False)
    assert hits("invoice reviewed:yes") == {("Bob Jones claims 2008", 1), ("Ann Smith claims 2007", 2)}
    assert hits("invoice reviewed:no") == {("Bob Jones claims 2008", 2)}
    assert hits("tag:receipt") == {("Bob Jones claims 2008", 1)}
    assert hits(f"duck tag:receipt member:{corpus['bob'].slug} reviewed:yes") == {
        ("Bob Jones claims 2008", 1)
    }
    assert hits(f"duck tag:receipt member:{corpus['ann'].slug}") == set()
    # min_agreement as on listings: a second reviewer without the tag halves the agreement.
    submit_review(reviewer=reviewer2, page_id=page(duck, 1).pk, tag_slugs=[], only_open_pages=False)
    from fractions import Fraction

    assert hits("tag:receipt", min_agreement=Fraction(1, 2)) == {("Bob Jones claims 2008", 1)}
    assert hits("tag:receipt", min_agreement=Fraction(2, 3)) == set()


def test_a_quarantined_reviewers_tags_never_count(
    corpus, reviewer, editor, django_capture_on_commit_callbacks
):
    target = page(corpus["duck"], 2)
    submit_review(reviewer=reviewer, page_id=target.pk, tag_slugs=["receipt"], only_open_pages=False)
    assert hits("tag:receipt") == {("Bob Jones claims 2008", 2)}
    with django_capture_on_commit_callbacks(execute=True):
        quarantine.quarantine_reviewer(reviewer, by=editor, reason="a burst of identical tags")
    assert hits("tag:receipt") == set()
    # A quarantined reviewer's later tags never count either.
    submit_review(
        reviewer=reviewer, page_id=page(corpus["flat"], 1).pk, tag_slugs=["receipt"], only_open_pages=False
    )
    assert hits("tag:receipt") == set()


def test_withdrawn_pages_never_appear_but_staff_see_why(
    corpus, editor, client, django_capture_on_commit_callbacks
):
    target = page(corpus["duck"], 1)
    with django_capture_on_commit_callbacks(execute=True):
        takedown.withdraw_page(target, by=editor, reason="personal data")
    assert ("Bob Jones claims 2008", 1) not in hits("duck")
    staff = viewer_for(editor)
    assert ("Bob Jones claims 2008", 1) in hits("duck", viewer=staff)
    with django_capture_on_commit_callbacks(execute=True):
        takedown.withdraw_document(corpus["flat"], by=editor, reason="legal")
    assert hits("duck") == set()
    # Not in the HTML, the API, the feed or the export either.
    anonymous = Client()
    for url in [
        "/search/?q=duck",
        "/search/?q=duck&pages=all",
        "/api/search/?q=duck",
        "/search/feed/?q=duck",
        "/search/export.jsonl?q=duck",
    ]:
        response = anonymous.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert b"floating" not in body.lower() and b"duck lamp" not in body.lower(), url
    client.force_login(editor)
    response = client.get("/search/?q=duck&pages=all")
    assert b"hidden from the public: withdrawn" in response.content


def test_an_embargoed_document_is_searchable_by_staff_only(
    tmp_path, media_root, django_capture_on_commit_callbacks, editor
):
    """A fresh upload is staff-only until published (issue 22): not in the public's results,
    feed, API or export; staff find it."""
    with django_capture_on_commit_callbacks(execute=True):
        import_pdf(
            tmp_path,
            "secret.pdf",
            text_pdf(["The embargoed heron sanctuary"]),
            title="Embargoed",
            published=False,
        )
    assert hits("heron") == set()
    assert ("Embargoed", 1) in hits("heron", viewer=viewer_for(editor))
    anonymous = Client()
    for url in [
        "/search/?q=heron&pages=all",
        "/api/search/?q=heron",
        "/search/feed/?q=heron",
        "/search/export.jsonl?q=heron",
    ]:
        response = anonymous.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200 and b"sanctuary" not in body.lower(), url


def test_one_result_per_document_with_best_pages_and_snippets(corpus, client):
    response = client.get("/search/", {"q": "invoice"})
    assert response.status_code == 200
    results = response.context["results"]
    assert [d.document.title for d in results.documents].count("Bob Jones claims 2008") == 1
    bob = next(d for d in results.documents if d.document.title == "Bob Jones claims 2008")
    assert bob.hits == 2 and {h.page.number for h in bob.pages} == {1, 2}
    assert "<mark>Invoice</mark>" in str(bob.pages[0].snippet) or "<mark>invoice</mark>" in str(
        bob.pages[0].snippet
    )
    html = response.content.decode()
    assert f"/pages/{page(corpus['duck'], 1).pk}/?q=invoice" in html
    assert "Show every page" in html and "page 1" in html


def test_snippets_escape_the_text(tmp_path, media_root, django_capture_on_commit_callbacks, client):
    with django_capture_on_commit_callbacks(execute=True):
        import_pdf(tmp_path, "x.pdf", text_pdf(['<script>alert("duck")</script> duck pond <b>bold</b>']))
    response = client.get("/search/", {"q": "duck", "pages": "all"})
    html = response.content.decode()
    assert "<script>alert" not in html and "<b>bold" not in html
    assert "<mark>duck</mark>" in html
    # Without words (filters only) the snippet is the page's opening text, escaped too.
    html = client.get("/search/", {"q": "reviewed:no", "pages": "all"}).content.decode()
    assert "&lt;script&gt;alert" in html and "<script>alert" not in html


def test_cursor_pagination_is_complete_and_stable_under_writes(
    tmp_path, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(7):
            import_pdf(
                tmp_path,
                f"d{n}.pdf",
                text_pdf([f"expenses claim number {n} " + "expenses " * n]),
                title=f"Doc {n}",
            )
    parsed = search_query.parse("expenses")
    seen, after = [], None
    while True:
        results = selectors.search(parsed, viewer=PUBLIC, limit=3, after=after)
        seen += [d.document_id for d in results.documents]
        if after is None:
            # A new document arriving after the first page does not shift or repeat what follows.
            with django_capture_on_commit_callbacks(execute=True):
                import_pdf(tmp_path, "late.pdf", text_pdf(["expenses arrived late"]), title="Late")
        after = results.next_cursor
        if after is None:
            break
    assert len(seen) == len(set(seen))
    assert len(seen) >= 7
    # A cursor from another search is refused with a clear error.
    first = selectors.search(parsed, viewer=PUBLIC, limit=3)
    from results.params import BadRequest

    with pytest.raises(BadRequest):
        selectors.search(search_query.parse("claim"), viewer=PUBLIC, limit=3, after=first.next_cursor)


def test_query_counts_do_not_grow_with_results(
    tmp_path, media_root, django_capture_on_commit_callbacks, client
):
    def count(q):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/search/", {"q": q}).status_code == 200
        return len(queries)

    with django_capture_on_commit_callbacks(execute=True):
        import_pdf(tmp_path, "one.pdf", text_pdf(["rhubarb crumble"]), title="One")
    small = count("rhubarb")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            import_pdf(
                tmp_path, f"m{n}.pdf", text_pdf([f"rhubarb {n}", f"rhubarb again {n}"]), title=f"Many {n}"
            )
    assert count("rhubarb") == small
    with CaptureQueriesContext(connection) as queries:
        client.get("/search/", {"q": "rhubarb", "pages": "all"})
    assert len(queries) == small


def test_bad_input_is_a_clear_400_and_changes_nothing(corpus, client):
    before = row_counts()
    for q in ["x" * 301, " ".join(["w"] * 30), "tag:nope", "member:nobody", "document:abc", "document:0",
              "reviewed:maybe", "tag:../etc", "assignment:none-such"]:  # fmt: skip
        response = client.get("/search/", {"q": q})
        assert response.status_code == 400, q
        assert client.get("/api/search/", {"q": q}).status_code == 400, q
    assert client.get("/search/", {"q": "duck", "after": "forged"}).status_code == 400
    assert client.get("/api/search/", {"q": "duck", "limit": "1000"}).status_code == 400
    assert client.get("/search/", {"q": "duck", "min_agreement": "2"}).status_code == 400
    assert row_counts() == before
    # Only stop words: nothing found, with a note, not an error.
    response = client.get("/search/", {"q": "the and of"})
    assert response.status_code == 200 and "too common" in response.content.decode()


@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(q=TEXT, extra=st.sampled_from(["", " tag:receipt", ' "', " -", " or", " member:", " document:1"]))
def test_no_query_is_ever_a_500(corpus, q, extra, settings):
    settings.RATE_LIMIT_SEARCH_PER_MINUTE = 1_000_000  # many examples from one address
    before = row_counts()
    for url in ["/search/", "/api/search/", "/search/feed/"]:
        response = Client().get(url, {"q": q + extra, "pages": "all"})
        assert_clear_answer(response, before)
    assert row_counts() == before


def test_anonymous_search_is_rate_limited(corpus, settings, editor):
    settings.RATE_LIMIT_SEARCH_PER_MINUTE = 3
    anonymous = Client()
    codes = [anonymous.get("/search/", {"q": "duck"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert anonymous.get("/api/search/", {"q": "duck"}).status_code == 429
    limited = anonymous.get("/search/", {"q": "duck"})
    assert int(limited["Retry-After"]) >= 1
    # The empty search box is free; staff are not limited.
    assert anonymous.get("/search/").status_code == 200
    staff = Client()
    staff.force_login(editor)
    assert all(staff.get("/search/", {"q": "duck"}).status_code == 200 for _ in range(5))


def test_api_search_paginates_with_cursors(corpus, client):
    response = client.get("/api/search/", {"q": "invoice", "limit": "1"})
    assert response.status_code == 200
    data = response.json()
    assert len(data["documents"]) == 1 and data["next"]
    first = data["documents"][0]
    assert first["pages"][0]["url"].endswith("?q=invoice") and "<mark>" in first["pages"][0]["snippet"]
    second = client.get(data["next"]).json()
    assert second["documents"][0]["id"] != first["id"]
    pages = client.get("/api/search/", {"q": "invoice", "pages": "all"}).json()
    assert len(pages["pages"]) == 3 and pages["documents"] == []


def test_api_search_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/search/" in schema.content.decode()


def test_feed_lists_newest_matching_pages(corpus, client):
    response = client.get("/search/feed/", {"q": "invoice"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert body.count("<entry>") == 3
    # Newest first: the flat document was imported after the duck one.
    assert body.index("Ann Smith claims 2007") < body.index("Bob Jones claims 2008")
    assert client.get("/search/feed/").status_code == 400


def test_export_streams_text_and_tags_and_defuses_formulas(
    tmp_path, media_root, django_capture_on_commit_callbacks, client, reviewer, tags
):
    with django_capture_on_commit_callbacks(execute=True):
        document = import_pdf(
            tmp_path,
            "f.pdf",
            text_pdf(['=HYPERLINK("http://evil") rhubarb', "+rhubarb second"]),
            title="-Formula title",
        )
    submit_review(
        reviewer=reviewer, page_id=page(document, 1).pk, tag_slugs=["receipt"], only_open_pages=False
    )
    response = client.get("/search/export.csv", {"q": "rhubarb"})
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    by_number = {r["page_number"]: r for r in rows}
    assert by_number["1"]["text"].startswith("'=HYPERLINK")
    assert by_number["2"]["text"].startswith("'+rhubarb")
    assert by_number["1"]["document_title"] == "'-Formula title"
    assert by_number["1"]["tags"] == "receipt:1"
    lines = (
        b"".join(client.get("/search/export.jsonl", {"q": "rhubarb"}).streaming_content).decode().splitlines()
    )
    records = [json.loads(line) for line in lines]
    assert {r["page_number"] for r in records} == {1, 2}
    assert records[0]["text"].startswith("=HYPERLINK") or records[1]["text"].startswith("=HYPERLINK")
    assert client.get("/search/export.csv", {"q": "tag:nope"}).status_code == 400
