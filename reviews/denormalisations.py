"""Denormalisations derived from documents, pages, reviews and skips (see the ``denorm`` app).

Redis: the page ids of each document, member and party, and the pages each reviewer has seen
(reviewed or skipped). Postgres: ``Page.review_count``, ``PageTag`` and ``Reviewer.review_count``.

Tags and PageTag: a ``PageTag`` row counts every review that gave the page the tag, whether the
tag is active or not, and ``first_tagged_at`` is the time of the earliest such review still in
Postgres. Deactivating a tag therefore changes no copy (listings hide inactive tags; reactivating
brings the counts back intact); deleting a tag deletes its rows by cascade. When the reviews
behind a tag go (reviewer or page deleted), the row is recounted and ``first_tagged_at`` moves to
the earliest remaining review, or the row goes.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from assignments import scope, visibility
from denorm.changes import Changes, PageContext, changed, context_cache
from denorm.operations import mark_stale
from denorm.redis_sets import hash_tag_id, rebuild_family, repair_family, replace_sets, sync_family
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys, redis_batch
from lib.log_throttle import warn_throttled
from lib.redis_client import get_redis
from lib.sql_batch import Statement
from reviews import signals
from reviews.models import Document, Member, Page, Party, Review, Skip

log = logging.getLogger("crowd.denormalisation")

CHUNK = 2000  # rows locked and recounted per transaction by rebuilds (short locks while serving)


def _chunks(ids, size: int = CHUNK):
    ids = sorted(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- Where pages live -------------------------------------------------------------------------


def document_contexts(document_ids) -> dict[int, PageContext]:
    """Owners and assignments of each document's pages, as Postgres has them now."""
    document_ids = list(document_ids)
    if not document_ids:
        return {}
    contexts: dict[int, PageContext] = {}
    for doc_id, member_id, party_id in Document.objects.filter(pk__in=document_ids).values_list(
        "id", "member_id", "member__party_id"
    ):
        contexts[doc_id] = PageContext(
            documents={doc_id},
            members={member_id} if member_id else set(),
            parties={party_id} if party_id else set(),
        )
    with connection.cursor() as cursor:
        cursor.execute(scope.ASSIGNMENTS_OF_DOCUMENTS_SQL, {"docs": document_ids})
        for doc_id, assignment_id in cursor.fetchall():
            if doc_id in contexts:
                contexts[doc_id].assignments.add(assignment_id)
    return contexts


def page_states(page_ids) -> dict[int, tuple[PageContext, int]]:
    """For each existing page: where it lives now and its review count. A withdrawn page, or a
    known-answer (gold) one (issue 25), is in no assignment (``assignments.scope``) but keeps
    its owners."""
    rows = list(
        Page.objects.filter(pk__in=list(page_ids)).values_list(
            "id", "document_id", "review_count", "withdrawn_at", "known_answer"
        )
    )
    docs = document_contexts({row[1] for row in rows})
    states = {}
    for pid, doc, count, withdrawn_at, known_answer in rows:
        context = docs.get(doc) or PageContext(documents={doc})
        if withdrawn_at is not None or known_answer:
            context = PageContext(
                documents=context.documents, members=context.members, parties=context.parties
            )
        states[pid] = (context, count)
    return states


def capture_document_pages(document_ids) -> dict[int, PageContext]:
    """Where every page of these documents lives now (before a move or delete)."""
    contexts = document_contexts(document_ids)
    return {
        pid: PageContext().merge(contexts.get(doc))
        for pid, doc in Page.objects.filter(document_id__in=list(document_ids)).values_list(
            "id", "document_id"
        )
    }


def _cached_document_context(document_id: int) -> PageContext:
    cache = context_cache()
    key = ("document", document_id)
    if key not in cache:
        cache[key] = document_contexts([document_id]).get(document_id) or PageContext(documents={document_id})
    return cache[key]


# --- Postgres counters ------------------------------------------------------------------------


def recount_page_reviews(page_ids) -> None:
    """Set ``Page.review_count`` of these pages from their reviews. Each chunk locks its pages
    first (as ``submit_review`` does), so the count sees every committed review and no review of
    these pages commits in between."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM reviews_page WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [chunk])
            cursor.execute(
                "UPDATE reviews_page p SET review_count = c.n FROM ("
                " SELECT p2.id, count(r.id) AS n FROM reviews_page p2"
                " LEFT JOIN reviews_review r ON r.page_id = p2.id AND NOT r.quarantined"
                " WHERE p2.id = ANY(%s) GROUP BY p2.id"
                ") c WHERE p.id = c.id AND p.review_count <> c.n",
                [chunk],
            )


def recount_page_tags(page_ids) -> None:
    """Make the ``PageTag`` rows of these pages agree with their reviews (pages locked first)."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM reviews_page WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [chunk])
            cursor.execute(
                "SELECT r.page_id, rt.tag_id, count(*), min(r.created) FROM reviews_review r"
                " JOIN reviews_review_tags rt ON rt.review_id = r.id WHERE r.page_id = ANY(%s)"
                " AND NOT r.quarantined GROUP BY r.page_id, rt.tag_id",
                [chunk],
            )
            truth = {(p, t): (n, first) for p, t, n, first in cursor.fetchall()}
            cursor.execute(
                "SELECT id, page_id, tag_id, count, first_tagged_at FROM reviews_pagetag WHERE page_id = ANY(%s)",
                [chunk],
            )
            gone, fixes = [], []
            for row_id, p, t, n, first in cursor.fetchall():
                want = truth.pop((p, t), None)
                if want is None:
                    gone.append(row_id)
                elif want != (n, first):
                    fixes.append((want[0], want[1], row_id))
            if gone:
                cursor.execute("DELETE FROM reviews_pagetag WHERE id = ANY(%s)", [gone])
            if fixes:
                cursor.executemany(
                    "UPDATE reviews_pagetag SET count = %s, first_tagged_at = %s WHERE id = %s", fixes
                )
            if truth:
                cursor.executemany(
                    "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at) VALUES (%s, %s, %s, %s)",
                    [(p, t, n, first) for (p, t), (n, first) in truth.items()],
                )


def recount_reviewers(user_ids) -> None:
    """Set ``Reviewer.review_count`` of these users from their reviews (rows locked first)."""
    for chunk in _chunks(user_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT user_id FROM reviews_reviewer WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE",
                [chunk],
            )
            # A user with reviews always has a Reviewer row (submit_review upserts it); a lost one
            # is recreated here.
            cursor.execute(
                "INSERT INTO reviews_reviewer (user_id, anonymous, review_count, created)"
                " SELECT DISTINCT r.reviewer_id, false, 0, now() FROM reviews_review r"
                " WHERE r.reviewer_id = ANY(%s) ON CONFLICT (user_id) DO NOTHING",
                [chunk],
            )
            cursor.execute(
                "UPDATE reviews_reviewer rv SET review_count = c.n FROM ("
                " SELECT rv2.user_id, count(r.id) AS n FROM reviews_reviewer rv2"
                " LEFT JOIN reviews_review r ON r.reviewer_id = rv2.user_id AND NOT r.quarantined"
                " WHERE rv2.user_id = ANY(%s) GROUP BY rv2.user_id"
                ") c WHERE rv.user_id = c.user_id AND rv.review_count <> c.n",
                [chunk],
            )


def refresh_review_counters(changes: Changes) -> None:
    if changes.pages:
        recount_page_reviews(changes.pages)
        recount_page_tags(changes.pages)
    users = changes.seen_users()
    if users:
        recount_reviewers(users)


def rebuild_page_review_count() -> None:
    recount_page_reviews(Page.objects.values_list("id", flat=True))


def rebuild_page_tags() -> None:
    recount_page_tags(Page.objects.values_list("id", flat=True))


def rebuild_reviewer_review_count() -> None:
    from reviews.models import Reviewer

    users = set(Reviewer.objects.values_list("user_id", flat=True))
    users |= set(Review.objects.values_list("reviewer_id", flat=True).distinct())
    recount_reviewers(users)


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _wrong_counts(label: str, sql: str) -> Drift:
    """Drift from a query returning (id, stored count, actual count) for each row that differs."""
    return _count_drift(label, _rows(sql))


def _count_drift(label: str, rows) -> Drift:
    drift = Drift()
    for row_id, stored, actual in rows:
        drift.wrong += 1
        drift.add_example(f"{label} {row_id}: {stored}, should be {actual}")
    return drift


def _repair_counts(label: str, sql: str, recount) -> Drift:
    """The periodic repair of a counter: the check's query, then a recount (rows locked first,
    as the rebuild does) of exactly the rows it found wrong."""
    rows = _rows(sql)
    if rows:
        recount([row[0] for row in rows])
    return _count_drift(label, rows)


_PAGE_REVIEW_COUNT_SQL = (
    "SELECT p.id, p.review_count, coalesce(c.n, 0) FROM reviews_page p LEFT JOIN ("
    " SELECT page_id, count(*) AS n FROM reviews_review WHERE NOT quarantined GROUP BY page_id"
    ") c ON c.page_id = p.id WHERE p.review_count <> coalesce(c.n, 0) ORDER BY p.id"
)


def check_page_review_count() -> Drift:
    return _wrong_counts("page", _PAGE_REVIEW_COUNT_SQL)


def repair_page_review_count() -> Drift:
    return _repair_counts("page", _PAGE_REVIEW_COUNT_SQL, recount_page_reviews)


def check_page_tags() -> Drift:
    return _page_tag_drift()[0]


def repair_page_tags() -> Drift:
    drift, page_ids = _page_tag_drift()
    if page_ids:
        recount_page_tags(page_ids)
    return drift


def _page_tag_drift() -> tuple[Drift, set[int]]:
    drift, page_ids = Drift(), set()
    for page_id, tag_id, n, first, count, first_tagged_at in _rows(
        "WITH truth AS ("
        " SELECT r.page_id, rt.tag_id, count(*) AS n, min(r.created) AS first FROM reviews_review r"
        " JOIN reviews_review_tags rt ON rt.review_id = r.id WHERE NOT r.quarantined"
        " GROUP BY r.page_id, rt.tag_id)"
        " SELECT coalesce(t.page_id, pt.page_id), coalesce(t.tag_id, pt.tag_id), t.n, t.first,"
        " pt.count, pt.first_tagged_at FROM truth t FULL OUTER JOIN reviews_pagetag pt"
        " ON pt.page_id = t.page_id AND pt.tag_id = t.tag_id"
        " WHERE t.n IS NULL OR pt.count IS NULL OR t.n <> pt.count OR t.first <> pt.first_tagged_at"
        " ORDER BY 1, 2"
    ):
        page_ids.add(page_id)
        if count is None:
            drift.missing += 1
            drift.add_example(f"page {page_id} tag {tag_id}: row missing (count {n})")
        elif n is None:
            drift.extra += 1
            drift.add_example(f"page {page_id} tag {tag_id}: row without reviews (count {count})")
        else:
            drift.wrong += 1
            drift.add_example(
                f"page {page_id} tag {tag_id}: count {count} first {first_tagged_at:%Y-%m-%d %H:%M:%S}, "
                f"should be {n} first {first:%Y-%m-%d %H:%M:%S}"
            )
    return drift, page_ids


def check_reviewer_review_count() -> Drift:
    return _reviewer_drift()[0]


def repair_reviewer_review_count() -> Drift:
    drift, user_ids = _reviewer_drift()
    if user_ids:
        recount_reviewers(user_ids)
    return drift


def _reviewer_drift() -> tuple[Drift, set[int]]:
    drift, user_ids = Drift(), set()
    for user_id, stored, actual in _rows(
        "SELECT coalesce(rv.user_id, c.reviewer_id), rv.review_count, coalesce(c.n, 0)"
        " FROM reviews_reviewer rv FULL OUTER JOIN ("
        " SELECT reviewer_id, count(*) AS n FROM reviews_review WHERE NOT quarantined GROUP BY reviewer_id"
        ") c ON c.reviewer_id = rv.user_id"
        " WHERE rv.user_id IS NULL OR rv.review_count <> coalesce(c.n, 0) ORDER BY 1"
    ):
        user_ids.add(user_id)
        if stored is None:
            drift.missing += 1
            drift.add_example(f"user {user_id}: no reviewer row ({actual} reviews)")
        else:
            drift.wrong += 1
            drift.add_example(f"user {user_id}: {stored}, should be {actual}")
    return drift, user_ids


_PG_KEPT = (
    "`reviews.actions.submit_review` in the review's transaction; after commit, a recount of the "
    "affected rows by `denorm.changed` (page, review or reviewer deletes and "
    "cascades, moves of existing reviews, imports, bulk changes and tag edits declared by their "
    "callers)."
)

register(
    Denormalisation(
        name="page-review-count",
        description="How many reviewers reviewed each page: drives the threshold, the done sets and "
        "the pages' progress.",
        derived_from="count of `reviews_review` rows per page, quarantined reviews left out",
        lives_in="`reviews_page.review_count`",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_page_review_count,
        check=check_page_review_count,
        repair=repair_page_review_count,
        refresh=refresh_review_counters,
        order=10,
    )
)
register(
    Denormalisation(
        name="page-tags",
        description="Per page and tag: how many reviews gave the page the tag, and when it first got "
        "it (the earliest such review still present). Drives the most-tagged and the in-order "
        "listings. Counts reviews whatever the tag's active flag: deactivating a tag changes "
        "nothing here, listings hide inactive tags.",
        derived_from="`reviews_review` (quarantined reviews left out) joined with "
        "`reviews_review_tags`: count and min(created) per (page, tag)",
        lives_in="`reviews_pagetag` (count, first_tagged_at)",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_page_tags,
        check=check_page_tags,
        repair=repair_page_tags,
        refresh=refresh_review_counters,
        order=11,
    )
)
register(
    Denormalisation(
        name="reviewer-review-count",
        description="How many pages each reviewer reviewed: profiles and leaderboards.",
        derived_from="count of `reviews_review` rows per reviewer, quarantined reviews left out "
        "(public credit; the reviewer's own view counts them all)",
        lives_in="`reviews_reviewer.review_count`",
        kept_current_by=_PG_KEPT,
        rebuild=rebuild_reviewer_review_count,
        check=check_reviewer_review_count,
        repair=repair_reviewer_review_count,
        refresh=refresh_review_counters,
        order=12,
    )
)


# --- Postgres: Review.quarantined, a copy of the reviewer's quarantine ------------------------
#
# ``Review.quarantined`` says whether the review's reviewer is quarantined
# (``Reviewer.quarantined_at``): every count above leaves such reviews out, so that one flag per
# review keeps the truth queries simple. ``moderation.actions.quarantine`` copies it in the
# quarantine's transaction; new reviews take it from the reviewer row ``submit_review`` locks.

# Issue 25: a review of a known-answer (gold) page counts for nothing either (``Page.known_answer``).
_QUARANTINE_WANT_SQL = (
    "SELECT r.id, r.reviewer_id, r.page_id, r.quarantined FROM reviews_review r"
    " LEFT JOIN reviews_reviewer rv ON rv.user_id = r.reviewer_id JOIN reviews_page p ON p.id = r.page_id"
    " WHERE r.quarantined <> (coalesce(rv.quarantined_at IS NOT NULL, false) OR p.known_answer){users}"
    " ORDER BY r.id"
)


def copy_quarantine(user_ids=None, *, page_ids=None) -> int:
    """Make ``Review.quarantined`` of these users' reviews (all reviews when None) agree with
    their reviewers' ``quarantined_at``, the reviewer rows locked first (as ``submit_review``
    does), and declare the reviews that flipped with ``changed()``: their pages, the pages'
    owners and assignments and the users' boards are re-derived after commit (a page that a
    quarantined reviewer pushed over a threshold goes back to the picker). Returns how many
    reviews flipped."""
    users = None if user_ids is None else sorted({int(u) for u in user_ids})
    narrow = "" if users is None else " AND r.reviewer_id = ANY(%(users)s)"
    # Issue 25: the reviews of pages that became (or stopped being) known-answer pages; their
    # rows are locked by the caller (consensus.actions.set_gold_answer).
    pages = None if page_ids is None else sorted({int(p) for p in page_ids})
    if pages is not None:
        narrow += " AND r.page_id = ANY(%(pages)s)"
    with transaction.atomic(), connection.cursor() as cursor:
        if users is not None:
            cursor.execute(
                "SELECT user_id FROM reviews_reviewer WHERE user_id = ANY(%(users)s) ORDER BY user_id FOR UPDATE",
                {"users": users},
            )
        cursor.execute(_QUARANTINE_WANT_SQL.format(users=narrow), {"users": users, "pages": pages})
        rows = cursor.fetchall()
        if not rows:
            return 0
        for chunk in _chunks([row[0] for row in rows]):
            cursor.execute(
                "UPDATE reviews_review SET quarantined = NOT quarantined WHERE id = ANY(%s)", [chunk]
            )
        changed(
            pages={page for _, _, page, _ in rows},
            users={user for _, user, _, _ in rows},
        )
    return len(rows)


def rebuild_review_quarantined() -> None:
    copy_quarantine(None)


def check_review_quarantined() -> Drift:
    drift = Drift()
    for review_id, user_id, page_id, flag in _rows(_QUARANTINE_WANT_SQL.format(users="")):
        drift.wrong += 1
        drift.add_example(
            f"review {review_id} (user {user_id}, page {page_id}): quarantined {flag}, should be {not flag}"
        )
    return drift


def repair_review_quarantined() -> Drift:
    drift = check_review_quarantined()
    if not drift.ok:
        copy_quarantine(None)
    return drift


register(
    Denormalisation(
        name="review-quarantined",
        description="Whether each review counts for nothing: its reviewer is quarantined, or its page "
        "is a known-answer (gold) page (issue 25). Such reviews are kept but count "
        "for nothing (page review counts, page tags, reviewers' counts, assignment progress, the "
        "picker's sets, leaderboards, listings), and the reviewer's own count and seen set still "
        "include them. A flip declares the review's page and reviewer changed, so every count "
        "above follows after commit.",
        derived_from="`reviews_reviewer.quarantined_at IS NOT NULL` of the review's reviewer, or "
        "`reviews_page.known_answer` of its page",
        lives_in="`reviews_review.quarantined`",
        kept_current_by="`moderation.actions.quarantine` (quarantine and release, in their "
        "transaction); `consensus.actions.set_gold_answer` / `remove_gold_answer` (in theirs); "
        "`reviews.actions.submit_review` (a new review takes its reviewer's and page's state, "
        "the reviewer row locked).",
        rebuild=rebuild_review_quarantined,
        check=check_review_quarantined,
        repair=repair_review_quarantined,
        order=5,
    )
)


# --- Postgres: pages per document --------------------------------------------------------------


def recount_documents(document_ids) -> None:
    """Set ``Document.page_count`` of these documents from their pages (rows locked first, so an
    import committing the same document is either counted whole or waits)."""
    for chunk in _chunks(document_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM reviews_document WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [chunk]
            )
            cursor.execute(
                "UPDATE reviews_document d SET page_count = c.n FROM ("
                " SELECT d2.id, count(p.id) AS n FROM reviews_document d2"
                " LEFT JOIN reviews_page p ON p.document_id = d2.id WHERE d2.id = ANY(%s) GROUP BY d2.id"
                ") c WHERE d.id = c.id AND d.page_count <> c.n",
                [chunk],
            )


def refresh_document_page_count(changes: Changes) -> None:
    documents = set(changes.documents)
    if changes.pages:
        for context in changes.pages.values():
            documents |= context.documents
        documents |= set(
            Page.objects.filter(pk__in=list(changes.pages)).values_list("document_id", flat=True).distinct()
        )
    if documents:
        recount_documents(documents)


def rebuild_document_page_count() -> None:
    recount_documents(Document.objects.values_list("id", flat=True))


_DOCUMENT_PAGE_COUNT_SQL = (
    "SELECT d.id, d.page_count, count(p.id) FROM reviews_document d"
    " LEFT JOIN reviews_page p ON p.document_id = d.id GROUP BY d.id"
    " HAVING d.page_count <> count(p.id) ORDER BY d.id"
)


def check_document_page_count() -> Drift:
    return _wrong_counts("document", _DOCUMENT_PAGE_COUNT_SQL)


def repair_document_page_count() -> Drift:
    return _repair_counts("document", _DOCUMENT_PAGE_COUNT_SQL, recount_documents)


register(
    Denormalisation(
        name="document-page-count",
        description="How many pages each document has ('page 3 of 12', the admin's page link). Set "
        "by the importer with the pages; recounted when pages are deleted or moved.",
        derived_from="count of `reviews_page` rows per document",
        lives_in="`reviews_document.page_count`",
        kept_current_by="`reviews.actions.documents.commit_document_pages` in the transaction that creates the pages; after commit, "
        "a recount of the affected documents by `denorm.changed` (page deletes and "
        "cascades, moves, bulk changes declared by their callers).",
        rebuild=rebuild_document_page_count,
        check=check_document_page_count,
        repair=repair_document_page_count,
        refresh=refresh_document_page_count,
        order=13,
    )
)


# --- Redis: page ids by document, member and party --------------------------------------------

_OWNERS = {
    # kind: (key function, SCAN pattern, truth query of (owner id, page id) rows)
    "documents": (
        keys.document_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{d:*}}:pages",
        "SELECT p.document_id, p.id FROM reviews_page p",
        "p.document_id",
    ),
    "members": (
        keys.member_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{m:*}}:pages",
        "SELECT d.member_id, p.id FROM reviews_page p JOIN reviews_document d ON d.id = p.document_id"
        " WHERE d.member_id IS NOT NULL",
        "d.member_id",
    ),
    "parties": (
        keys.party_pages,
        f"{keys.NAMESPACE}:{keys.VERSION}:{{p:*}}:pages",
        "SELECT m.party_id, p.id FROM reviews_page p JOIN reviews_document d ON d.id = p.document_id"
        " JOIN reviews_member m ON m.id = d.member_id WHERE m.party_id IS NOT NULL",
        "m.party_id",
    ),
}


def owner_truth(kind: str, owners=None) -> dict[int, set[int]]:
    _, _, sql, column = _OWNERS[kind]
    truth: dict[int, set[int]] = defaultdict(set)
    if owners is None:
        rows = _rows(sql)
    else:
        joiner = " AND " if " WHERE " in sql else " WHERE "
        rows = _rows(f"{sql}{joiner}{column} = ANY(%s)", [list(owners)])
        for owner in owners:
            truth[owner]  # noqa: B018  (an owner without pages gets an empty set: its key goes)
    for owner, page_id in rows:
        truth[owner].add(page_id)
    return dict(truth)


def _owner_family(kind: str):
    key_of, pattern, _, _ = _OWNERS[kind]

    def rebuild() -> None:
        rebuild_family(lambda: owner_truth(kind), key_of, pattern, hash_tag_id)

    def check() -> Drift:
        return sync_family(owner_truth(kind), key_of, pattern, hash_tag_id, fix=False)

    def repair() -> Drift:
        return repair_family(lambda: owner_truth(kind), key_of, pattern, hash_tag_id)

    return rebuild, check, repair


def refresh_owner_sets(changes: Changes) -> None:
    """Re-derive the changed pages' membership in the document, member and party sets (old and
    new owners), and rebuild the whole sets of owners named in ``changes``."""
    adds: dict[str, set[int]] = defaultdict(set)
    removes: dict[str, set[int]] = defaultdict(set)
    if changes.pages:
        now = page_states(changes.pages)
        for page_id, before in changes.pages.items():
            current = now[page_id][0] if page_id in now else PageContext()
            for kind in ("documents", "members", "parties"):
                key_of = _OWNERS[kind][0]
                want = getattr(current, kind)
                for owner in getattr(before, kind) | want:
                    (adds if owner in want else removes)[key_of(owner)].add(page_id)
    pipe = get_redis().pipeline(transaction=False)
    for key, members in adds.items():
        pipe.sadd(key, *members)
    for key, members in removes.items():
        pipe.srem(key, *members)
    pipe.execute()
    for kind in ("documents", "members", "parties"):
        owners = getattr(changes, kind)
        if owners:
            key_of = _OWNERS[kind][0]
            truth = owner_truth(kind, owners)
            replace_sets({key_of(o): truth.get(o, ()) for o in owners})


_OWNER_KEPT = (
    "after commit: `reviews.signals.document_imported` (pages added), `pre_delete` of pages "
    "(also in `QuerySet.delete()` and cascades from documents and members), `pre_delete` of "
    "parties, `pre_save` of documents and members that change owner; anything else through "
    "`denorm.changed`."
)

for _order, (_kind, _name, _what) in enumerate(
    [
        ("documents", "document-pages", "document"),
        ("members", "member-pages", "member (through their documents)"),
        ("parties", "party-pages", "party (through its members' documents)"),
    ]
):
    _rebuild, _check, _repair = _owner_family(_kind)
    register(
        Denormalisation(
            name=_name,
            description=f"The ids of the pages of each {_what}: the next-page picker and the "
            "listings narrow by it. A deleted page leaves every set at once (the Guardian's bug).",
            derived_from="`reviews_page` joined with `reviews_document` and `reviews_member`",
            lives_in=f"Redis set `{_OWNERS[_kind][1].replace('*', '<id>')}`",
            kept_current_by=_OWNER_KEPT,
            rebuild=_rebuild,
            check=_check,
            repair=_repair,
            refresh=refresh_owner_sets,
            order=30 + _order,
            store=Store.REDIS,
        )
    )


# --- Redis: pages each reviewer has seen ------------------------------------------------------

_SEEN_PATTERN = f"{keys.NAMESPACE}:{keys.VERSION}:{{u:*}}:seen"
_SEEN_SQL = "SELECT reviewer_id, page_id FROM reviews_review{w} UNION SELECT reviewer_id, page_id FROM reviews_skip{w}"


def seen_truth(users=None) -> dict[int, set[int]]:
    truth: dict[int, set[int]] = defaultdict(set)
    if users is None:
        rows = _rows(_SEEN_SQL.format(w=""))
    else:
        rows = _rows(_SEEN_SQL.format(w=" WHERE reviewer_id = ANY(%(u)s)"), {"u": list(users)})
        for user in users:
            truth[user]  # noqa: B018
    for user, page in rows:
        truth[user].add(page)
    return dict(truth)


def rebuild_reviewer_seen() -> None:
    rebuild_family(seen_truth, keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id)


def check_reviewer_seen() -> Drift:
    return sync_family(seen_truth(), keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id, fix=False)


def repair_reviewer_seen() -> Drift:
    return repair_family(seen_truth, keys.reviewer_seen, _SEEN_PATTERN, hash_tag_id)


def refresh_reviewer_seen(changes: Changes) -> None:
    if changes.seen:
        users = {u for u, _ in changes.seen}
        pages = {p for _, p in changes.seen}
        present = set(
            _rows(
                _SEEN_SQL.format(w=" WHERE reviewer_id = ANY(%(u)s) AND page_id = ANY(%(p)s)"),
                {"u": list(users), "p": list(pages)},
            )
        )
        pipe = get_redis().pipeline(transaction=False)
        for user, page in changes.seen:
            if (user, page) in present:
                pipe.sadd(keys.reviewer_seen(user), page)
            else:
                pipe.srem(keys.reviewer_seen(user), page)
        pipe.execute()
    if changes.users:
        truth = seen_truth(changes.users)
        replace_sets({keys.reviewer_seen(u): truth.get(u, ()) for u in changes.users})


register(
    Denormalisation(
        name="reviewer-seen",
        description="The ids of the pages each reviewer reviewed or skipped: the picker never offers "
        "a reviewer the same page twice.",
        derived_from="`reviews_review` and `reviews_skip` (reviewer, page)",
        lives_in=f"Redis set `{_SEEN_PATTERN.replace('*', '<user id>')}`",
        kept_current_by="after commit: `reviews.signals.review_recorded` and `page_skipped` (SADD); "
        "`post_delete` of reviews and skips (cascades from pages and users), `pre_delete` of users; "
        "anything else through `denorm.changed`.",
        rebuild=rebuild_reviewer_seen,
        check=check_reviewer_seen,
        repair=repair_reviewer_seen,
        refresh=refresh_reviewer_seen,
        order=40,
        store=Store.REDIS,
    )
)


# --- Receivers ----------------------------------------------------------------------------------


@receiver(signals.review_recorded, dispatch_uid="denormalisation-seen-review")
def _on_review(sender, *, page_id, reviewer_id, **kwargs):
    _add_seen(reviewer_id, page_id)


@receiver(signals.page_skipped, dispatch_uid="denormalisation-seen-skip")
def _on_skip(sender, *, page_id, reviewer_id, **kwargs):
    _add_seen(reviewer_id, page_id)


def _add_seen(reviewer_id: int, page_id: int) -> None:
    # The hot path: one SADD, no Postgres query, sent with the other receivers' writes (one
    # round trip, lib/redis_batch.py).
    redis_batch.queue(lambda pipe: pipe.sadd(keys.reviewer_seen(reviewer_id), page_id), _seen_not_updated)


def _seen_not_updated(exc: Exception) -> None:
    # The review is committed; the stale flag makes the beat task rebuild the sets once Redis
    # is back. Not re-raised: send_robust would log a full traceback for every review of the
    # outage. One line per outage (throttled) says it instead.
    mark_stale(["reviewer-seen"], repr(exc))
    warn_throttled(
        log, "reviewer-seen", "reviewer-seen not updated, Redis unavailable (flagged stale): %r", exc
    )


@receiver(signals.document_imported, dispatch_uid="denormalisation-imported")
def _on_imported(sender, *, document_id, **kwargs):
    changed(pages=list(Page.objects.filter(document_id=document_id).values_list("id", flat=True)))


@receiver(pre_delete, sender=Page, dispatch_uid="denormalisation-page-delete")
def _on_page_delete(sender, instance, **kwargs):
    # Before the delete: afterwards Postgres no longer knows which sets held the page.
    changed(pages={instance.pk: PageContext().merge(_cached_document_context(instance.document_id))})


@receiver(post_delete, sender=Review, dispatch_uid="denormalisation-review-delete")
def _on_review_delete(sender, instance, **kwargs):
    changed(pages=[instance.page_id], seen=[(instance.reviewer_id, instance.page_id)])


@receiver(post_delete, sender=Skip, dispatch_uid="denormalisation-skip-delete")
def _on_skip_delete(sender, instance, **kwargs):
    changed(seen=[(instance.reviewer_id, instance.page_id)])


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="denormalisation-user-delete")
def _on_user_delete(sender, instance, **kwargs):
    changed(users=[instance.pk])


@receiver(pre_delete, sender=Party, dispatch_uid="denormalisation-party-delete")
def _on_party_delete(sender, instance, **kwargs):
    # Members are detached with a bulk UPDATE (SET_NULL): no signal per member, so capture here.
    docs = Document.objects.filter(member__party=instance).values_list("id", flat=True)
    changed(pages=capture_document_pages(list(docs)), parties=[instance.pk])


# Moves: capture where the pages live before the save, declare them after it (a plain save runs
# outside any transaction, where changed() applies at once).


@receiver(pre_save, sender=Member, dispatch_uid="denormalisation-member-move")
def _before_member_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "party" not in update_fields):
        return
    before = Member.objects.filter(pk=instance.pk).values_list("party_id", flat=True).first()
    if before != instance.party_id:
        docs = Document.objects.filter(member_id=instance.pk).values_list("id", flat=True)
        instance._crowd_moved = capture_document_pages(list(docs))


@receiver(pre_save, sender=Document, dispatch_uid="denormalisation-document-move")
def _before_document_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "member" not in update_fields):
        return
    before = Document.objects.filter(pk=instance.pk).values_list("member_id", flat=True).first()
    if before != instance.member_id:
        instance._crowd_moved = capture_document_pages([instance.pk])


@receiver(pre_save, sender=Page, dispatch_uid="denormalisation-page-move")
def _before_page_save(sender, instance, update_fields=None, **kwargs):
    instance._crowd_moved = None
    if instance.pk is None or (update_fields is not None and "document" not in update_fields):
        return
    before = Page.objects.filter(pk=instance.pk).values_list("document_id", flat=True).first()
    if before is not None and before != instance.document_id:
        instance._crowd_moved = {instance.pk: PageContext().merge(_cached_document_context(before))}


def _after_move(sender, instance, **kwargs):
    moved = getattr(instance, "_crowd_moved", None)
    if moved:
        instance._crowd_moved = None
        changed(pages=moved)


for _model in (Member, Document, Page):
    post_save.connect(_after_move, sender=_model, dispatch_uid=f"denormalisation-move-{_model.__name__}")


# Reviews are created by `reviews.actions.submit_review`, which maintains every counter in its own
# transaction: a new review is not declared again here. Moving an existing review (page or
# reviewer) is. There is deliberately no m2m_changed receiver on Review.tags: its mere presence
# makes Django check for existing rows before every insert, one more query on each submit. Code
# that edits an existing review's tags (nothing does: reviews are read-only) calls changed().


@receiver(post_save, sender=Review, dispatch_uid="denormalisation-review-save")
def _after_review_save(sender, instance, created, **kwargs):
    if created:
        instance._crowd_new = True
        return
    before = getattr(instance, "_crowd_before", None)
    pairs = {(instance.reviewer_id, instance.page_id)} | ({before} if before else set())
    if before != (instance.reviewer_id, instance.page_id):
        changed(pages={p for _, p in pairs}, seen=pairs)


@receiver(pre_save, sender=Review, dispatch_uid="denormalisation-review-before")
def _before_review_save(sender, instance, **kwargs):
    instance._crowd_before = (
        Review.objects.filter(pk=instance.pk).values_list("reviewer_id", "page_id").first()
        if instance.pk and not getattr(instance, "_crowd_new", False)
        else None
    )


# --- Postgres: when each page+tag became public (PageTag.listed_at) -----------------------------
#
# The public sees a page's tags once its review count reached the page's *public threshold* T:
# the lowest threshold of the active assignments containing it, 1 when none
# (``assignments.scope.public_threshold_sql``, the one home of that rule). Public in-order
# listings are ordered by ``listed_at``, the moment both held: the page had the tag and had
# reached its T. In the review's transaction that moment is the review's own ``created``, and the
# same value is what a rebuild derives: max(first_tagged_at, created of the page's T-th review).

# Every PageTag row of the pages matched by ``{pages}`` (a condition on ``page_id``) with the
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
    f" CASE WHEN coalesce(tth.created, ret.created) IS NULL OR NOT {visibility.public_page_sql('pg')} THEN NULL"
    " ELSE greatest(pt.first_tagged_at, least(tth.created, ret.created)) END AS want"
    " FROM reviews_pagetag pt JOIN reviews_page pg ON pg.id = pt.page_id LEFT JOIN ("
    "  SELECT r.page_id, r.created FROM ("
    "   SELECT page_id, created, row_number() OVER (PARTITION BY page_id ORDER BY created, id) AS n"
    "   FROM reviews_review WHERE {pages} AND NOT quarantined) r"
    "  JOIN reviews_page tp ON tp.id = r.page_id"
    "  JOIN {thresholds} dt ON dt.document_id = tp.document_id"
    "  WHERE r.n = dt.threshold"
    " ) tth ON tth.page_id = pt.page_id LEFT JOIN ("
    "  SELECT rp.page_id, min(rp.created) AS created FROM assignments_retiredpage rp"
    "  JOIN assignments_assignment ra ON ra.id = rp.assignment_id AND ra.active"
    "  WHERE {pages} GROUP BY rp.page_id"
    " ) ret ON ret.page_id = pt.page_id WHERE {pt_pages}"
)


def _listed_truth_sql(pages_sql: str) -> str:
    """``_LISTED_TRUTH_SQL`` for the pages matched by ``pages_sql`` (a condition on ``page_id``)."""
    documents = (
        "true"  # every page: every document, no scan of the pages to find them
        if pages_sql == "true"
        else "pth_doc.id IN (SELECT tpd.document_id FROM reviews_page tpd"
        f" WHERE {pages_sql.replace('page_id', 'tpd.id')})"
    )
    return _LISTED_TRUTH_SQL.format(
        pages=pages_sql,
        pt_pages=pages_sql.replace("page_id", "pt.page_id"),
        thresholds=scope.document_public_thresholds_sql(documents),
    )


def stamp_listed_at_statement(*, page_id: int, document_id: int, review_count: int, at) -> Statement:
    """Sent by ``submit_review`` in the review's transaction (``lib.sql_batch``), the page row
    locked, right after the review's ``PageTag`` upserts: when the page is (now) at or over its
    public threshold, every row of it not yet listed is listed at ``at`` (the review's
    ``created``). Reaching T lists all the page's tags; a new tag on a page already over T lists
    that tag. One statement: the page's threshold is a subquery of it."""
    return Statement(
        "UPDATE reviews_pagetag SET listed_at = %(at)s WHERE page_id = %(page)s AND listed_at IS NULL"
        f" AND %(count)s >= {scope.public_threshold_sql('%(doc)s')}"
        # Not while the page is not public (embargoed: a trusted caller reviewing it): its
        # publication lists it (``assignments.actions.sync_visibility``).
        f" AND (SELECT {visibility.public_page_sql('vp')} FROM reviews_page vp WHERE vp.id = %(page)s)",
        {"at": at, "page": page_id, "doc": document_id, "count": review_count},
    )


def _relist(cursor, pages_sql: str, params: dict) -> None:
    sql = _listed_truth_sql(pages_sql)
    cursor.execute(
        f"UPDATE reviews_pagetag p SET listed_at = t.want FROM ({sql}) t"
        " WHERE p.id = t.id AND p.listed_at IS DISTINCT FROM t.want",
        params,
    )


def relist_pages(page_ids) -> None:
    """Re-derive ``listed_at`` of these pages' rows (pages locked first, as ``submit_review``)."""
    for chunk in _chunks(page_ids):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM reviews_page WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [chunk])
            _relist(cursor, "page_id = ANY(%(pages)s)", {"pages": chunk})


def rebuild_page_tag_listed_at() -> None:
    """Every row, by ranges of page ids (short locks; an assignment change runs this)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(page_id), max(page_id) FROM reviews_pagetag")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            bounds = {"lo": start, "hi": start + CHUNK - 1}
            cursor.execute(
                "SELECT id FROM reviews_page WHERE id BETWEEN %(lo)s AND %(hi)s ORDER BY id FOR UPDATE",
                bounds,
            )
            _relist(cursor, "page_id BETWEEN %(lo)s AND %(hi)s", bounds)


def check_page_tag_listed_at() -> Drift:
    return _listed_at_drift()[0]


def repair_page_tag_listed_at() -> Drift:
    drift, page_ids = _listed_at_drift()
    if page_ids:
        relist_pages(page_ids)
    return drift


def _listed_at_drift() -> tuple[Drift, set[int]]:
    drift, page_ids = Drift(), set()
    sql = _listed_truth_sql("true")
    for _, page_id, tag_id, stored, want in _rows(
        f"SELECT * FROM ({sql}) t WHERE t.listed_at IS DISTINCT FROM t.want ORDER BY t.page_id, t.tag_id"
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
