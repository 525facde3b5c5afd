"""Reads for search: results (one per document or every page), snippets, and the words to mark
on a page. No writes here.

One query finds the matching pages: ``search_pagetext.search_vector @@ websearch_to_tsquery(
'english', …)`` through the GIN index ``pagetext_search_gin``, joined to the page, its document
and member for the filters, ranked with ``ts_rank_cd`` (as a whole number, so cursors are exact).
Per document, the same rows are grouped: a document ranks by its best page and brings its
best ``BEST_PAGES`` page ids. Then ``ts_headline`` (which re-parses the text: costly) runs only
for the pages shown, in one query, and the shown pages are loaded with their document, member
and party in one more. So a results page costs the same few queries however many rows match or
are shown (a test counts them).

Who sees what: the public sees only public pages (``assignments.visibility.public_page_sql``, the
one rule, embargo included once it lands there); staff search everything and results say why a
page is hidden. ``tag:`` counts as listings do: the public's counts (``PageTag.listed_at`` set:
the page reached its public threshold; quarantined reviewers never count, ``PageTag.count``
leaves them out), with ``?min_agreement=`` compared in integers.

Pagination: keyset cursors on (rank, page id) or (rank, document id), signed and bound to the
query (``results.cursors``). A page's rank depends only on its text and the query, so pages
added while a reader pages through land in place without shifting what they have seen.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction

from django.conf import settings
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from psycopg import sql

from assignments import scope as assignment_scope
from assignments.visibility import public_page_sql
from catalogue.models import Document, Member, Page, Party
from lib.sql_names import compose
from results import cursors
from results.params import BadRequest
from results.selectors import ScopeKind, Viewer, scope_for, tag_for
from reviews.models import PageTag
from search.models import PageText
from search.query import ParsedQuery

TABLES = {
    "page": Page,
    "document": Document,
    "member": Member,
    "pagetag": PageTag,
    "pagetext": PageText,
}

CURSOR_SALT = "search.results.v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BEST_PAGES = 3
RANK_SCALE = 1_000_000_000
# Marks in ts_headline's output: private-use characters, so the text can be HTML-escaped first
# and only our marks become <mark> elements.
_START, _STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = (
    f'StartSel={_START}, StopSel={_STOP}, MaxFragments=2, MaxWords=28, MinWords=10, FragmentDelimiter=" … "'
)
FULL_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"
HEADLINE_MAX_CHARS = 100_000


@dataclass
class PageHit:
    page: Page
    rank: int
    snippet: SafeString = mark_safe("")
    text_query: str = ""  # the search's words, for the hit's link (/pages/<id>/?q=…)

    @property
    def updated(self):
        return self.page.document.imported_at or self.page.document.created

    @property
    def hidden_reason(self) -> str:
        return "withdrawn" if self.page.withdrawn_at is not None else ""


@dataclass
class DocumentHit:
    document_id: int
    rank: int
    hits: int
    pages: list[PageHit] = field(default_factory=list)

    @property
    def document(self):
        return self.pages[0].page.document if self.pages else None


@dataclass
class SearchResults:
    query: ParsedQuery
    every_page: bool
    documents: list[DocumentHit]
    pages: list[PageHit]
    next_cursor: str | None
    note: str = ""  # e.g. the words were all too common to search for


@dataclass(frozen=True)
class _Sql:
    where: list[str]
    params: list


def _identity(parsed: ParsedQuery, every_page: bool, min_agreement: Fraction | None, viewer: Viewer) -> str:
    share = "" if min_agreement is None else f"{min_agreement.numerator}/{min_agreement.denominator}"
    mode = "pages" if every_page else "documents"
    return f"{mode}|{'staff' if viewer.is_staff else 'public'}|{share}|{parsed.as_text()}"


def _filters_sql(parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None) -> _Sql:
    """WHERE clauses over p (page), d (document), m (member, left-joined) for the query's
    filters; BadRequest for a filter naming nothing the viewer can see."""
    where: list[str] = []
    params: list = []
    if not viewer.is_staff:
        where.append(public_page_sql("p"))
    f = parsed.filters
    if "tag" in f:
        tag = tag_for(f["tag"], viewer=viewer)
        if tag is None:
            raise BadRequest("tag: names no tag on this site.")
        clause = compose(
            "EXISTS (SELECT 1 FROM {pagetag} t WHERE t.page_id = p.id AND t.tag_id = %s AND t.count > 0",
            **TABLES,
        )
        params.append(tag.pk)
        if not viewer.is_staff:
            clause += " AND t.listed_at IS NOT NULL"  # the public's counts, as on listings
        if min_agreement:
            clause += " AND t.count * %s >= p.review_count * %s"
            params += [min_agreement.denominator, min_agreement.numerator]
        where.append(clause + ")")
    if "member" in f:
        member = Member.objects.filter(slug=f["member"]).values_list("pk", flat=True).first()
        if member is None:
            raise BadRequest("member: names no member on this site.")
        where.append("d.member_id = %s")
        params.append(member)
    if "party" in f:
        party = Party.objects.filter(slug=f["party"]).values_list("pk", flat=True).first()
        if party is None:
            raise BadRequest("party: names no party on this site.")
        where.append("m.party_id = %s")
        params.append(party)
    if "document" in f:
        scope = scope_for(ScopeKind.DOCUMENT, int(f["document"]), viewer=viewer)
        if scope is None:
            raise BadRequest("document: names no document on this site.")
        where.append("p.document_id = %s")
        params.append(scope.obj.pk)
    if "assignment" in f:
        scope = scope_for(ScopeKind.ASSIGNMENT, f["assignment"], viewer=viewer)
        if scope is None:
            raise BadRequest("assignment: names no assignment on this site.")
        # The one definition of an assignment's pages (assignments.scope), compiled by the ORM.
        sub, sub_params = (
            Page.objects.filter(assignment_scope.page_filter(scope.obj.pk))
            .values("pk")
            .query.sql_with_params()
        )
        where.append(f"p.id IN ({sub})")
        params += list(sub_params)
    if "reviewed" in f:
        where.append("p.review_count > 0" if f["reviewed"] == "yes" else "p.review_count = 0")
    return _Sql(where, params)


def _matches_sql(
    parsed: ParsedQuery,
    filters: _Sql,
    *,
    newest: bool = False,
    cap: int | None = None,
    every_candidate: bool = False,
) -> tuple[str, list]:
    """SELECT id, document_id, rank, capped, hit over the matching pages (no order, no limit).

    With words, only a bounded candidate set is ranked: the first ``SEARCH_RANK_CANDIDATES``
    matching pages by page id (after the filters). ``ts_rank_cd`` reads each candidate's whole
    vector, so ranking every match of a common word costs seconds at 458,832 pages; finding the
    matches through the GIN index and keeping the lowest ids is a fraction of that. Page ids only
    grow, so the candidate set of a search does not shift under a reader as pages arrive (new
    pages join it only while it is not full). ``capped`` says the set was full: results then say
    so and suggest narrowing. The planner picks how: for a common word it walks the primary key
    in order and stops at the limit (a few thousand rows), for a rare one it asks the GIN index
    and sorts the few matches (the bench and test_search_plan show both).

    Phrases (and hyphenated words, which Postgres makes phrases) are bounded the same way: the
    candidates are the first pages holding all the words (the phrase's order and distances
    relaxed to AND, which the GIN index answers), and word positions are checked on those only.
    Unbounded, a phrase of two common words that are seldom adjacent walked every page holding
    both (1.6 s at 458,832 pages). Not under a negation (``-"a b"``), where AND is no superset.
    The relaxing is a constant expression, folded when the query is planned: the index is used.
    ``every_candidate``: every candidate is a row, ``hit`` saying whether it matches (the export
    pages through candidates, of which a batch may hold no match).
    """
    where = list(filters.where)
    joins = compose(
        " JOIN {document} d ON d.id = p.document_id LEFT JOIN {member} m ON m.id = d.member_id", **TABLES
    )
    if not parsed.text:
        query = compose(
            "SELECT p.id, p.document_id, 0::bigint AS rank, false AS capped, true AS hit FROM {page} p{joins}",
            joins=sql.SQL(joins),
            **TABLES,
        )
        if where:
            query += " WHERE " + " AND ".join(where)
        return query, list(filters.params)
    # The feed wants the newest matches (the last ids); the export takes them a batch at a time.
    limit = cap or settings.SEARCH_RANK_CANDIDATES
    # The tsquery is written out where it is used, not shared through a CTE: a CTE's value is
    # unknown when the query is planned, and the planner then scans every vector instead of
    # asking the GIN index (EXPLAIN showed it; test_search_plan checks it).
    tsquery = "websearch_to_tsquery('english'::regconfig, %s)"
    relaxed = (
        f"(CASE WHEN strpos({tsquery}::text, '<') > 0 AND strpos({tsquery}::text, '!(') = 0"
        f" THEN regexp_replace({tsquery}::text, '<[0-9-]+>', '&', 'g')::tsquery ELSE {tsquery} END)"
    )
    where.insert(0, f"pt.search_vector @@ {relaxed}")
    rank = f"(ts_rank_cd(pt.search_vector, {tsquery}, 32) * {RANK_SCALE})::bigint"
    hit = f"pt.search_vector @@ {tsquery}"
    query = compose(
        "WITH c AS MATERIALIZED (SELECT p.id, p.document_id FROM {pagetext} pt"
        " JOIN {page} p ON p.id = pt.page_id{joins}"
        " WHERE {where} ORDER BY pt.page_id{order} LIMIT %s),"
        " n AS (SELECT count(*) >= %s AS capped FROM c)"
        " SELECT c.id, c.document_id, {rank} AS rank, n.capped, {hit} AS hit"
        " FROM c JOIN {pagetext} pt ON pt.page_id = c.id CROSS JOIN n",
        joins=sql.SQL(joins),
        where=sql.SQL(" AND ".join(where)),
        order=sql.SQL(" DESC" if newest else ""),
        rank=sql.SQL(rank),
        hit=sql.SQL(hit),
        **TABLES,
    )
    params = [parsed.text] * 4 + [*filters.params, limit, limit, parsed.text, parsed.text]
    if not every_candidate:
        query += f" WHERE {hit}"
        params.append(parsed.text)
    return query, params


def search(
    parsed: ParsedQuery,
    *,
    viewer: Viewer,
    every_page: bool = False,
    min_agreement: Fraction | None = None,
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchResults:
    """One page of results: documents (each with its best pages) or every matching page."""
    limit = max(1, min(limit, MAX_LIMIT))
    identity = _identity(parsed, every_page, min_agreement, viewer)
    key = cursors.decode(after, salt=CURSOR_SALT, identity=identity, size=2) if after else None
    if parsed.empty:
        return SearchResults(parsed, every_page, [], [], None)
    filters = _filters_sql(parsed, viewer=viewer, min_agreement=min_agreement)
    matches, params = _matches_sql(parsed, filters)
    if every_page:
        query = f"SELECT s.id, s.rank, s.capped FROM ({matches}) s"
        if key:
            query += " WHERE (s.rank < %s OR (s.rank = %s AND s.id > %s))"
            params += [key[0], key[0], key[1]]
        query += " ORDER BY s.rank DESC, s.id LIMIT %s"
        rows = _fetch(query, params + [limit + 1])
        capped = bool(rows and rows[0][2])
        more = len(rows) > limit
        rows = [(row[0], row[1]) for row in rows[:limit]]
        hits = _page_hits(rows, parsed)
        cursor = (
            cursors.encode(salt=CURSOR_SALT, identity=identity, key=[rows[-1][1], rows[-1][0]])
            if more
            else None
        )
        return SearchResults(parsed, True, [], hits, cursor, note=_note(parsed, hits, capped, filters))
    query = (
        f"SELECT s.document_id, max(s.rank) AS rank, count(*) AS hits,"
        f" (array_agg(s.id ORDER BY s.rank DESC, s.id))[1:{BEST_PAGES}] AS best, bool_or(s.capped)"
        f" FROM ({matches}) s GROUP BY s.document_id"
    )
    if key:
        query += " HAVING (max(s.rank) < %s OR (max(s.rank) = %s AND s.document_id > %s))"
        params += [key[0], key[0], key[1]]
    query += " ORDER BY rank DESC, s.document_id LIMIT %s"
    rows = _fetch(query, params + [limit + 1])
    capped = bool(rows and rows[0][4])
    more = len(rows) > limit
    rows = rows[:limit]
    page_rows = [(page_id, None) for row in rows for page_id in row[3]]
    by_id = {hit.page.pk: hit for hit in _page_hits(page_rows, parsed)}
    documents = [
        DocumentHit(
            document_id=row[0], rank=row[1], hits=row[2], pages=[by_id[i] for i in row[3] if i in by_id]
        )
        for row in rows
    ]
    cursor = (
        cursors.encode(salt=CURSOR_SALT, identity=identity, key=[rows[-1][1], rows[-1][0]]) if more else None
    )
    return SearchResults(parsed, False, documents, [], cursor, note=_note(parsed, documents, capped, filters))


def newest_pages(
    parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None = None, limit: int = 50
) -> list[PageHit]:
    """The newest matching pages (highest page id first): the search's Atom feed."""
    if parsed.empty:
        return []
    filters = _filters_sql(parsed, viewer=viewer, min_agreement=min_agreement)
    matches, params = _matches_sql(parsed, filters, newest=True)
    rows = _fetch(f"SELECT s.id, s.rank FROM ({matches}) s ORDER BY s.id DESC LIMIT %s", params + [limit])
    return _page_hits(rows, parsed)


def matching_page_batches(
    parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None = None, batch: int = 500
):
    """Every matching page id in page-id order, in batches: keyset on the page id inside the
    match itself, so each batch is one query that finds only the matches after the last one
    (the export streams these; ranking every match would be the slow part)."""
    filters = _filters_sql(parsed, viewer=viewer, min_agreement=min_agreement)
    last = 0
    while True:
        after = _Sql(filters.where + ["p.id > %s"], filters.params + [last])
        matches, params = _matches_sql(parsed, after, cap=batch, every_candidate=True)
        rows = _fetch(f"SELECT s.id, s.hit FROM ({matches}) s ORDER BY s.id LIMIT %s", params + [batch])
        found = [page_id for page_id, hit in rows if hit]
        if found:
            yield found
        if len(rows) < batch:
            return
        last = rows[-1][0]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _note(parsed: ParsedQuery, found: list, capped: bool = False, filters: _Sql | None = None) -> str:
    """Why nothing matched, when the words were all too common to search for (one query, only
    for an empty result); or that more pages match than are ranked."""
    if not found and parsed.text and filters is not None:
        # No row came back to say whether the candidates were capped (a phrase found in none of
        # them): ask, for empty results only.
        matches, params = _matches_sql(parsed, filters, every_candidate=True)
        capped = bool(_fetch(f"SELECT bool_or(s.capped) FROM ({matches}) s", params)[0][0])
    if capped:
        n = settings.SEARCH_RANK_CANDIDATES
        return (
            f"More than {n:,} pages hold these words: the results come from the first {n:,} of them "
            "(phrases are looked for there too). Add a less common word or a filter (member:, party:, "
            "document:, tag:) to narrow the search."
        )
    if found or not parsed.text:
        return ""
    rows = _fetch("SELECT numnode(websearch_to_tsquery('english'::regconfig, %s))", [parsed.text])
    if rows and rows[0][0] == 0:
        return "Those words are too common to search for on their own: add a less common word."
    return ""


def _page_hits(rows: list[tuple], parsed: ParsedQuery) -> list[PageHit]:
    """PageHits for (page id, rank) rows, in order: pages with document, member and party in one
    query, snippets in one more."""
    ids = [row[0] for row in rows]
    if not ids:
        return []
    pages = Page.objects.select_related("document__member__party").in_bulk(ids)
    snippets = snippets_for(ids, parsed.text)
    return [
        PageHit(
            page=pages[page_id],
            rank=rank or 0,
            snippet=snippets.get(page_id, mark_safe("")),
            text_query=parsed.text,
        )
        for page_id, rank in rows
        if page_id in pages
    ]


def _marked(text: str) -> SafeString:
    """ts_headline output to HTML: escaped, then our private-use marks become <mark>."""
    html = escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own tags added


def snippets_for(page_ids: list[int], text_query: str) -> dict[int, SafeString]:
    """A snippet per page: the best fragments with the words marked (``ts_headline``, run only
    for these pages), or the page's opening words when the search has no words."""
    if not page_ids:
        return {}
    if text_query:
        rows = _fetch(
            compose(
                "SELECT pt.page_id, ts_headline('english'::regconfig, left(pt.text, %s),"
                " websearch_to_tsquery('english'::regconfig, %s), %s)"
                " FROM {pagetext} pt WHERE pt.page_id = ANY(%s)",
                **TABLES,
            ),
            [HEADLINE_MAX_CHARS, text_query, HEADLINE_OPTIONS, page_ids],
        )
    else:
        rows = _fetch(
            compose("SELECT page_id, left(text, 240) FROM {pagetext} WHERE page_id = ANY(%s)", **TABLES),
            [page_ids],
        )
    return {page_id: _marked((text or "").strip()) for page_id, text in rows}


# --- One page: its text with the words marked, and the boxes to draw on its scan -----------------

_LEXEME = re.compile(r"(!?)'((?:[^']|'')+)'")


@dataclass
class MarkedPage:
    lines: list[SafeString]  # the text, line by line, words marked
    boxes: list[list]  # [x, y, w, h] of the words to mark on the scan, image pixels
    status: str
    reason: str
    source: str


def marked_page(page_id: int, text_query: str) -> MarkedPage | None:
    """A page's text with the search's words marked, and the boxes of those words on its scan.
    Two queries (the text with ``ts_headline(HighlightAll)`` and the query's lexemes; the page's
    distinct words stemmed in one more when there is a query). None when the page has no text
    row yet."""
    if text_query:
        rows = _fetch(
            compose(
                "SELECT pt.status, pt.reason, pt.source, pt.boxes,"
                " ts_headline('english'::regconfig, left(pt.text, %s), q.q, %s),"
                " querytree(q.q) FROM {pagetext} pt,"
                " websearch_to_tsquery('english'::regconfig, %s) q(q) WHERE pt.page_id = %s",
                **TABLES,
            ),
            [HEADLINE_MAX_CHARS, FULL_OPTIONS, text_query, page_id],
        )
    else:
        rows = _fetch(
            compose(
                "SELECT status, reason, source, boxes, left(text, %s), '' FROM {pagetext} WHERE page_id = %s",
                **TABLES,
            ),
            [HEADLINE_MAX_CHARS, page_id],
        )
    if not rows:
        return None
    status, reason, source, boxes, text, tree = rows[0]
    if isinstance(boxes, str):  # Django has psycopg hand jsonb over as text
        boxes = json.loads(boxes)
    lines = [_marked(line) for line in (text or "").split("\n")]
    while lines and not str(lines[-1]).strip():
        lines.pop()
    wanted = {m.group(2).replace("''", "'") for m in _LEXEME.finditer(tree or "") if not m.group(1)}
    marks: list[list] = []
    if wanted and boxes:
        words = sorted({str(b[0]) for b in boxes if b and isinstance(b[0], str)})
        stems = _fetch(
            "SELECT w, tsvector_to_array(to_tsvector('english'::regconfig, w)) FROM unnest(%s::text[]) w",
            [words],
        )
        hit_words = {w for w, lexemes in stems if set(lexemes or ()) & wanted}
        marks = [b[1:5] for b in boxes if b and b[0] in hit_words]
    return MarkedPage(lines=lines, boxes=marks, status=status, reason=reason, source=source)


def check_filters(parsed: ParsedQuery, *, viewer: Viewer, min_agreement: Fraction | None = None) -> None:
    """BadRequest now for a filter naming nothing the viewer can see (before a stream starts)."""
    _filters_sql(parsed, viewer=viewer, min_agreement=min_agreement)
