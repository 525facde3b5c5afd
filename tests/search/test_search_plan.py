"""The search's query plan at a few thousand pages: matches come through the GIN index (never a
sequential scan of the text table), only a bounded candidate set is ranked, and ts_headline runs
for the shown rows only. EXPLAIN and query text tell; seconds would not."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results.selectors import viewer_for
from search import query as search_query
from search import selectors
from search.denormalisations import rebuild_page_search_vector
from tests import factories

pytestmark = pytest.mark.django_db
ROWS = 6000
PUBLIC = viewer_for(AnonymousUser())


@pytest.fixture
def many_pages(db):
    """ROWS pages with text: a common word on every page, a rare one on three (SQL: test setup)."""
    doc = factories.make_document(factories.make_member(), pages=ROWS, title="Big release")
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO search_pagetext (page_id, text, boxes, source, status, reason, engine, version,"
            " priority, attempts, updated) SELECT p.id, 'claim form allowance ' || CASE WHEN p.number %% 2000 = 7"
            " THEN 'zanzibar' ELSE 'stationery' END, '[]', 'layer', 'done', '', 'pdfium', '', 0, 0, now()"
            " FROM reviews_page p WHERE p.document_id = %s",
            [doc.pk],
        )
    rebuild_page_search_vector()
    with connection.cursor() as c:
        # What autovacuum does at scale: the rows bulk-loaded above sit in the GIN index's
        # pending list, which the planner prices as a scan of its own.
        c.execute("SELECT gin_clean_pending_list('pagetext_search_gin'::regclass)")
        c.execute("ANALYZE search_pagetext")
        c.execute("ANALYZE reviews_page")
    return doc


def _plan(sql: str, params) -> list[dict]:
    with connection.cursor() as c:
        c.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = c.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    return list(nodes(plan[0]["Plan"]))


def test_a_rare_word_is_found_through_the_gin_index(many_pages):
    parsed = search_query.parse("zanzibar")
    with CaptureQueriesContext(connection) as queries:
        results = selectors.search(parsed, viewer=PUBLIC, every_page=True)
    assert len(results.pages) == 3
    match_sql = next(
        q["sql"]
        for q in queries.captured_queries
        if "websearch_to_tsquery" in q["sql"] and "ts_rank_cd" in q["sql"]
    )
    nodes = _plan(match_sql, None)
    assert any(n.get("Index Name") == "pagetext_search_gin" for n in nodes), [n["Node Type"] for n in nodes]
    assert not any(
        n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "search_pagetext" for n in nodes
    )
    # Headlines: one query, for the shown pages only.
    headlines = [q["sql"] for q in queries.captured_queries if "ts_headline" in q["sql"]]
    assert len(headlines) == 1 and "ANY(" in headlines[0]


def test_a_common_word_ranks_a_bounded_candidate_set(many_pages, settings):
    settings.SEARCH_RANK_CANDIDATES = 500
    parsed = search_query.parse("stationery")
    results = selectors.search(parsed, viewer=PUBLIC, every_page=True, limit=10)
    assert len(results.pages) == 10 and "More than 500 pages hold these words" in results.note
    # Paging through the ranked set ends after the candidates, each page once.
    seen, after = [], None
    while True:
        page = selectors.search(parsed, viewer=PUBLIC, every_page=True, limit=100, after=after)
        seen += [h.page.pk for h in page.pages]
        after = page.next_cursor
        if not after:
            break
    assert len(seen) == len(set(seen)) == 500
    # A rare word is not capped: every match is ranked.
    assert selectors.search(search_query.parse("zanzibar"), viewer=PUBLIC).note == ""


def test_a_phrase_is_looked_for_in_a_bounded_candidate_set(many_pages, settings):
    """A phrase's candidates are the first pages holding all its words (found like common words,
    through the index), and word positions are checked on those only: a phrase of common words
    that are never adjacent costs a bounded walk, and the note says where it looked."""
    settings.SEARCH_RANK_CANDIDATES = 500
    never_adjacent = selectors.search(search_query.parse('"allowance claim"'), viewer=PUBLIC, every_page=True)
    assert never_adjacent.pages == [] and "More than 500 pages hold these words" in never_adjacent.note
    everywhere = selectors.search(
        search_query.parse('"form allowance"'), viewer=PUBLIC, every_page=True, limit=10
    )
    assert len(everywhere.pages) == 10 and "More than 500 pages hold these words" in everywhere.note
    # A phrase with a rare word: its candidates come through the GIN index, every match found.
    parsed = search_query.parse('"allowance zanzibar"')
    with CaptureQueriesContext(connection) as queries:
        rare = selectors.search(parsed, viewer=PUBLIC, every_page=True)
    assert len(rare.pages) == 3 and rare.note == ""
    match_sql = next(q["sql"] for q in queries.captured_queries if "ts_rank_cd" in q["sql"])
    assert any(n.get("Index Name") == "pagetext_search_gin" for n in _plan(match_sql, None))
    # A negated phrase is not relaxed (AND would be no superset): every page has it, none match.
    negated = selectors.search(search_query.parse('claim -"form allowance"'), viewer=PUBLIC, every_page=True)
    assert negated.pages == []
    # The export pages through the candidates: all the phrase's matches, none twice.
    exported = [i for batch in selectors.matching_page_batches(parsed, viewer=PUBLIC, batch=2) for i in batch]
    assert sorted(exported) == sorted(h.page.pk for h in rare.pages)
