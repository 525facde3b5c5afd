"""Postgres: when each page+tag became public (``PageTag.listed_at``): the listings, feeds and
exports order by it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Q
from psycopg import sql

from assignments import scope, visibility
from catalogue.denormalisations._common import CHUNK, _chunks, _rows
from catalogue.models import Page
from denorm.changes import Changes
from denorm.registry import Denormalisation, Drift, register
from lib.sql_batch import Statement
from lib.sql_names import compose


@cache
def tables() -> dict:
    """The tables of this module's SQL. Reviews and their tag counts belong to the reviewing, a layer above this one
    (the assignments'): their models are looked up by label, not imported."""
    return {
        **scope.tables(),
        "page": Page,
        "pagetag": apps.get_model("reviews", "PageTag"),
        "review": apps.get_model("reviews", "Review"),
    }


# Every PageTag row of the pages matched by ``{pages}`` (a condition on a page id column) with the
# listed_at it should have: none while the page is not public (withdrawn or embargoed:
# ``assignments.visibility``), its old value again once it is reinstated or published. Reviews of one page are serialised by the page lock
# and stamped in that order, so the T-th counted review by (created, id) is the one that brought
# the count to T. T is computed once per document of those pages (``{thresholds}``), not once per
# review.
#
# Issue 25: a page an active assignment retired early because the crowd is sure
# (``assignments.RetiredPage``) is public from its retirement on, like one at its threshold:
# the earlier of the two moments counts (``least`` ignores the one that is NULL).
_LISTED_TRUTH_SQL = (
    "SELECT pt.id, pt.page_id, pt.tag_id, pt.listed_at,"
    " CASE WHEN coalesce(tth.created, ret.created) IS NULL OR NOT {public_pg} THEN NULL"
    " ELSE greatest(pt.first_tagged_at, least(tth.created, ret.created)) END AS want"
    " FROM {pagetag} pt JOIN {page} pg ON pg.id = pt.page_id LEFT JOIN ("
    "  SELECT r.page_id, r.created FROM ("
    "   SELECT page_id, created, row_number() OVER (PARTITION BY page_id ORDER BY created, id) AS n"
    "   FROM {review} WHERE {pages} AND NOT quarantined) r"
    "  JOIN {page} tp ON tp.id = r.page_id"
    "  JOIN {thresholds} dt ON dt.document_id = tp.document_id"
    "  WHERE r.n = dt.threshold"
    " ) tth ON tth.page_id = pt.page_id LEFT JOIN ("
    "  SELECT rp.page_id, min(rp.created) AS created FROM {retiredpage} rp"
    "  JOIN {assignment} ra ON ra.id = rp.assignment_id AND ra.active"
    "  WHERE {rp_pages} GROUP BY rp.page_id"
    " ) ret ON ret.page_id = pt.page_id WHERE {pt_pages}"
)


PagesCondition = Callable[[str], str]  # a page id column -> the condition on it


def every_page(column: str) -> str:
    return "true"


def pages_in(parameter: str) -> PagesCondition:
    """The pages whose ids are in the array parameter ``%(parameter)s``."""
    return lambda column: f"{column} = ANY(%({parameter})s)"


def pages_between(low: str, high: str) -> PagesCondition:
    """The pages with ids from ``%(low)s`` to ``%(high)s``."""
    return lambda column: f"{column} BETWEEN %({low})s AND %({high})s"


def _listed_truth_sql(pages: PagesCondition) -> str:
    """``_LISTED_TRUTH_SQL`` for the pages ``pages`` selects, given each place's own column
    (never a condition edited to fit another alias)."""
    documents = (
        "true"  # every page: every document, no scan of the pages to find them
        if pages is every_page
        else compose(
            "pth_doc.id IN (SELECT tpd.document_id FROM {page} tpd WHERE {tpd_pages})",
            tpd_pages=sql.SQL(pages("tpd.id")),
            **tables(),
        )
    )
    return compose(
        _LISTED_TRUTH_SQL,
        public_pg=sql.SQL(visibility.public_page_sql("pg")),
        pages=sql.SQL(pages("page_id")),
        pt_pages=sql.SQL(pages("pt.page_id")),
        rp_pages=sql.SQL(pages("rp.page_id")),
        thresholds=sql.SQL(scope.document_public_thresholds_sql(documents)),
        **tables(),
    )


def stamp_listed_at_statement(*, page_id: int, document_id: int, review_count: int, at) -> Statement:
    """Sent by ``submit_review`` in the review's transaction (``lib.sql_batch``), the page row
    locked, right after the review's ``PageTag`` upserts: when the page is (now) at or over its
    public threshold, every row of it not yet listed is listed at ``at`` (the review's
    ``created``). Reaching T lists all the page's tags; a new tag on a page already over T lists
    that tag. One statement: the page's threshold is a subquery of it."""
    return Statement(_stamp_sql(), {"at": at, "page": page_id, "doc": document_id, "count": review_count})


@cache
def _stamp_sql() -> str:
    return compose(
        "UPDATE {pagetag} SET listed_at = %(at)s WHERE page_id = %(page)s AND listed_at IS NULL"
        " AND %(count)s >= {threshold}"
        # Not while the page is not public (embargoed: a trusted caller reviewing it): its
        # publication lists it (``assignments.actions.sync_visibility``).
        " AND (SELECT {public_vp} FROM {page} vp WHERE vp.id = %(page)s)",
        threshold=sql.SQL(scope.public_threshold_sql("%(doc)s")),
        public_vp=sql.SQL(visibility.public_page_sql("vp")),
        **tables(),
    )


def _relist(cursor, pages: PagesCondition, params: dict) -> None:
    truth = _listed_truth_sql(pages)
    cursor.execute(
        compose(
            "UPDATE {pagetag} p SET listed_at = t.want FROM ({truth}) t"
            " WHERE p.id = t.id AND p.listed_at IS DISTINCT FROM t.want",
            truth=sql.SQL(truth),
            **tables(),
        ),
        params,
    )


def relist_pages(page_ids) -> None:
    """Re-derive ``listed_at`` of these pages' rows (pages locked first, as ``submit_review``)."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                compose("SELECT id FROM {page} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", page=Page), [chunk]
            )
            _relist(cursor, pages_in("pages"), {"pages": chunk})


def rebuild_page_tag_listed_at() -> None:
    """Every row, by ranges of page ids (short locks; an assignment change runs this)."""
    with connection.cursor() as cursor:
        cursor.execute(compose("SELECT min(page_id), max(page_id) FROM {pagetag}", **tables()))
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            bounds = {"lo": start, "hi": start + CHUNK - 1}
            cursor.execute(
                compose(
                    "SELECT id FROM {page} WHERE id BETWEEN %(lo)s AND %(hi)s ORDER BY id FOR UPDATE",
                    page=Page,
                ),
                bounds,
            )
            _relist(cursor, pages_between("lo", "hi"), bounds)


def check_page_tag_listed_at() -> Drift:
    return _listed_at_drift()[0]


def repair_page_tag_listed_at() -> Drift:
    drift, page_ids = _listed_at_drift()
    if page_ids:
        relist_pages(page_ids)
    return drift


def _listed_at_drift() -> tuple[Drift, set[int]]:
    drift, page_ids = Drift(), set()
    for _, page_id, tag_id, stored, want in _rows(
        compose(
            "SELECT * FROM ({truth}) t WHERE t.listed_at IS DISTINCT FROM t.want ORDER BY t.page_id, t.tag_id",
            truth=sql.SQL(_listed_truth_sql(every_page)),
        )
    ):
        page_ids.add(page_id)
        if stored is None:
            drift.missing += 1
            drift.add_example(
                f"page {page_id} tag {tag_id}: not listed, should be listed at {want:%Y-%m-%d %H:%M:%S}"
            )
        elif want is None:
            drift.extra += 1
            drift.add_example(
                f"page {page_id} tag {tag_id}: listed, but the page is below its public threshold"
            )
        else:
            drift.wrong += 1
            drift.add_example(
                f"page {page_id} tag {tag_id}: listed at {stored:%Y-%m-%d %H:%M:%S}, should be {want:%Y-%m-%d %H:%M:%S}"
            )
    return drift, page_ids


def refresh_page_tag_listed_at(changes: Changes) -> None:
    # Runs after refresh_review_counters (registry order), so first_tagged_at is already right.
    if changes.assignments:
        # An assignment was created, deleted, had its threshold or active flag changed, or its
        # documents, members or parties (the receivers in ``assignments.denormalisations``, or a
        # bulk change declared with changed()): the public threshold of any of its pages, before
        # or after, may have moved, and the pages that left it are no longer known. Every row is
        # re-derived: an editor's rare decision, proportional to the tagged pages.
        rebuild_page_tag_listed_at()
        return
    pages = set(changes.pages)
    if changes.documents or changes.members or changes.parties:
        # An owner rebuilt whole (e.g. a member moved to another party, declared by a bulk
        # change): its pages may now sit in other assignments.
        pages |= set(
            Page.objects.filter(
                Q(document_id__in=list(changes.documents))
                | Q(document__member_id__in=list(changes.members))
                | Q(document__member__party_id__in=list(changes.parties))
            ).values_list("id", flat=True)
        )
    if pages:
        relist_pages(pages)


register(
    Denormalisation(
        name="page-tag-listed-at",
        description="Per page and tag: when it became publicly visible, i.e. the page had the tag "
        "and had reached its public threshold. The rule, stated on every page (`/pages/<id>/`): a "
        "page's counts are public once as many people reviewed it as the lowest threshold of the "
        "active assignments containing it (1 when it is in none), so an assignment asking for "
        "more eyes hides only the pages no lenient assignment shares with it "
        "(`assignments.scope.public_threshold_sql`, computed once per document). "
        "Public `/in-order/` listings, their feeds and the API's in-order listings are ordered by "
        "it, so a page that reaches the threshold after a reader paged past its first-tagged time "
        "is appended after them instead of inserted behind them (staff listings keep "
        "`first_tagged_at`). Append-only while the threshold stands; the listings' settle delay "
        "(`RESULTS_IN_ORDER_SETTLE_SECONDS`) still applies, because the stamp is the review's "
        "`created`, taken a moment before its transaction commits. An editor changing an "
        "assignment (its threshold, opening or closing it, its documents, members or parties, "
        "creating or deleting it) re-derives every row: a page whose threshold went down is "
        "listed at its past T-th review time, i.e. behind readers who already passed that point "
        "(they will not see it by resuming); one whose threshold went up is unlisted. "
        "Deleting a review re-derives its page (it may be unlisted or listed later, and then seen "
        "twice). A page that is not public (withdrawn, or embargoed: `assignments.visibility`) is "
        "listed nowhere: its rows are unlisted in the withdrawal's (or embargo's) transaction and "
        "listed again, at their old time, when it is reinstated (or published). A page an active "
        "assignment retired early because the crowd is sure (issue 25, `assignments.RetiredPage`) "
        "is listed from its retirement, if that came before its T-th review "
        "(`assignments.actions.retire_pages` stamps it).",
        derived_from="`reviews_pagetag.first_tagged_at`, `reviews_review.created` and "
        "`reviews_page.public`: max(first_tagged_at, created of the page's T-th counted (not "
        "quarantined) review by (created, id)), NULL when the page has fewer than T counted "
        "reviews or is not public; T per page from `assignments_assignment` (active, threshold) "
        "and its documents, members and parties",
        lives_in="`reviews_pagetag.listed_at` (index `pagetag_listed_idx` on tag, listed_at, page)",
        kept_current_by="`reviews.actions.submit_review` in the review's transaction "
        "(`stamp_listed_at_statement`); `moderation.actions.takedown` in the withdrawal's or reinstatement's "
        "transaction (`relist_pages`), as does `assignments.actions.sync_visibility` for pages "
        "whose `public` flipped; after commit, a re-derivation of the affected pages by "
        "`denorm.changed` (as `page-tags`, and the pages of owners declared changed); every row "
        "after any assignment change declared by `assignments.denormalisations` (create, delete, "
        "a threshold or active change, `m2m_changed` of its documents, members or parties) or by "
        "a bulk change naming assignments.",
        rebuild=rebuild_page_tag_listed_at,
        check=check_page_tag_listed_at,
        refresh=refresh_page_tag_listed_at,
        repair=repair_page_tag_listed_at,
        order=13,
    )
)
