"""Writes about assignments. The admin, commands, views, tasks and ``seed_demo`` call these; none
writes assignments directly.

Each action is atomic. Saves and many-to-many edits go through the model (``save()``,
``.set()``), so the signal receivers in ``assignments/denormalisations/`` re-derive every copy
after commit; the one bulk write here (the progress counter of a review) is maintained by its
caller's transaction and checked by the registry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from psycopg import sql

from assignments import pool, scope
from assignments.denormalisations.listed_at import relist_pages
from assignments.denormalisations.public import sync_visibility
from assignments.models import Assignment, PickerStat, PriorityPage, RetiredPage
from catalogue.models import Document, Page
from lib.sql_batch import Statement
from lib.sql_names import compose

TABLES = {
    "assignment": Assignment,
    "pickerstat": PickerStat,
    "retiredpage": RetiredPage,
    "document": Document,
    "page": Page,
}

log = logging.getLogger("crowd.assignments")


def assignment_progress_statement(*, document_id: int, review_count: int, page_id: int) -> Statement:
    """A page of ``document_id`` just got its ``review_count``-th review: count the review in
    every assignment containing it, and count the page as complete in those whose threshold it
    just reached. The statement's rows are ``(id, active, crossed)``, one per assignment
    containing the page: the review's after-commit work touches those and no others (the
    picker's reservations, the to-do sets), so its cost does not grow with the number of
    assignments.

    Sent by ``reviews.actions.submit_review`` in the review's transaction, with its other writes
    (``lib.sql_batch``), after the page row is locked, so concurrent reviews of one page are
    serialised and each threshold is crossed exactly once. One statement either way. A page the
    assignment retired early (issue 25) was counted complete then: reaching the threshold
    later crosses nothing."""
    return Statement(_increment_sql(), {"count": review_count, "doc": document_id, "page": page_id})


@cache
def _increment_sql() -> str:
    assignment_id = compose("{assignment}.id", **TABLES)
    crossed = sql.SQL("(threshold = %(count)s AND NOT {retired})").format(
        retired=sql.SQL(scope.retired_sql(assignment_id, "%(page)s"))
    )
    return compose(
        "UPDATE {assignment} SET review_count = review_count + 1, "
        "completed_count = completed_count + {crossed}::int "
        "WHERE id IN ({containing}) RETURNING id, active, {crossed}",
        crossed=crossed,
        containing=sql.SQL(scope.assignments_of_one_document_sql()),
        **TABLES,
    )


def active_assignments_of_document_statement(*, document_id: int) -> Statement:
    """The ids of the active assignments containing the document's pages, one column (for a
    review that changes no counter: a quarantined reviewer's)."""
    return Statement(_active_containing_sql(), {"doc": document_id})


@cache
def _active_containing_sql() -> str:
    return compose(
        "SELECT id FROM {assignment} WHERE active AND id IN ({containing})",
        containing=sql.SQL(scope.assignments_of_one_document_sql()),
        **TABLES,
    )


def add_picker_counts(*, rows: Iterable[tuple[datetime, str, int]]) -> None:
    """Add (hour, source, count) rows of the picker's counters to ``PickerStat`` in one statement
    (see ``assignments.picker_stats``). A savepoint when called inside a request's transaction:
    a failure (DatabaseError, which the caller handles) spoils nothing else."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            compose(
                "INSERT INTO {pickerstat} (hour, source, count) VALUES (%s, %s, %s) "
                "ON CONFLICT (hour, source) DO UPDATE "
                "SET count = {pickerstat}.count + EXCLUDED.count",
                **TABLES,
            ),
            list(rows),
        )


def _save(assignment: Assignment, **fields) -> Assignment:
    changed = [name for name, value in fields.items() if getattr(assignment, name) != value]
    for name in changed:
        setattr(assignment, name, fields[name])
    if changed:
        assignment.save(update_fields=changed)
    return assignment


@transaction.atomic
def feature_assignment_as_main(*, assignment_id: int) -> Assignment:
    """Feature one assignment as the main one on the home page (and activate it); the current
    main one becomes an alternative. Saved one by one, never with ``update()``: activating an
    assignment builds its Redis sets, and only ``save()`` tells the registry."""
    chosen = Assignment.objects.select_for_update().get(pk=assignment_id)
    if chosen.is_draft:
        raise ValueError(f"“{chosen}” is a draft: publish it before featuring it.")
    for other in (
        Assignment.objects.select_for_update()
        .filter(featured=Assignment.Featured.MAIN)
        .exclude(pk=assignment_id)
    ):
        _save(other, featured=Assignment.Featured.ALTERNATIVE)
    return _save(chosen, featured=Assignment.Featured.MAIN, active=True)


@transaction.atomic
def feature_assignments(*, assignment_ids: Iterable[int], featured: str) -> int:
    """Feature the assignments as alternatives, or stop featuring them (``featured`` is one of
    ``Assignment.Featured``; use :func:`feature_assignment_as_main` for the main one). Returns
    how many changed."""
    if featured not in (Assignment.Featured.ALTERNATIVE, Assignment.Featured.NONE):
        raise ValueError(f"cannot feature several assignments as {featured!r}")
    count = 0
    chosen = list(Assignment.objects.select_for_update().filter(pk__in=list(assignment_ids)))
    drafts = [a.title for a in chosen if a.is_draft and featured != Assignment.Featured.NONE]
    if drafts:
        raise ValueError(f"Drafts cannot be featured; publish them first: {', '.join(drafts)}.")
    for assignment in chosen:
        if assignment.featured != featured:
            _save(assignment, featured=featured)
            count += 1
    return count


@transaction.atomic
def set_assignment_active(*, assignment_id: int, active: bool) -> Assignment:
    """Open a published assignment for reviews, or close it. An inactive one has no Redis sets
    and no reviewers. A draft is opened by :func:`publish_assignment`."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    if active and assignment.is_draft:
        raise ValueError(f"“{assignment}” is a draft: publish it to open it for reviews.")
    return _save(assignment, active=active)


@transaction.atomic
def publish_assignment(
    *, assignment_id: int, open_for_reviews: bool = True, featured: str = Assignment.Featured.NONE
) -> Assignment:
    """Make a draft public (listed, its page public) and, by default, open it for reviews: its
    Redis sets are built after commit by the registry's receivers, as for any activation.

    ``featured`` puts it on the home page in the same step (and the same transaction): as the
    main assignment (the current main one becomes an alternative) or as an alternative."""
    if featured not in Assignment.Featured.values:
        raise ValueError(f"featured must be one of {', '.join(Assignment.Featured.values)}")
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    _save(assignment, status=Assignment.Status.PUBLISHED, active=open_for_reviews or assignment.active)
    sync_visibility()  # its documents are public from this commit on (the embargo lifted)
    if featured == Assignment.Featured.MAIN:
        return feature_assignment_as_main(assignment_id=assignment_id)
    if featured == Assignment.Featured.ALTERNATIVE:
        feature_assignments(assignment_ids=[assignment_id], featured=featured)
        assignment.refresh_from_db()
    return assignment


@transaction.atomic
def unpublish_assignment(*, assignment_id: int) -> Assignment:
    """Take an assignment back to draft: off every public list and page, closed and unfeatured."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    _save(assignment, status=Assignment.Status.DRAFT, active=False, featured=Assignment.Featured.NONE)
    sync_visibility()  # documents public only through it are embargoed again
    return assignment


@transaction.atomic
def set_assignment_threshold(*, assignment_id: int, threshold: int) -> Assignment:
    if threshold < 1:
        raise ValueError("a threshold is at least 1")
    return _save(Assignment.objects.select_for_update().get(pk=assignment_id), threshold=threshold)


@transaction.atomic
def set_assignment_scope(
    *,
    assignment_id: int,
    members: Iterable[int] | None = None,
    parties: Iterable[int] | None = None,
    documents: Iterable[int] | None = None,
) -> Assignment:
    """Replace the members, parties and/or documents an assignment covers (None: unchanged)."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    for relation, ids in (("members", members), ("parties", parties), ("documents", documents)):
        if ids is not None:
            getattr(assignment, relation).set(list(ids))
    if not assignment.is_draft:  # a draft's scope makes nothing public nor private
        sync_visibility()
    return assignment


@transaction.atomic
def create_assignment(
    *,
    title: str,
    slug: str,
    description: str = "",
    threshold: int = 1,
    featured: str = Assignment.Featured.NONE,
    feature_order: int = 0,
    active: bool = True,
    status: str = Assignment.Status.PUBLISHED,
    members: Iterable[int] = (),
    parties: Iterable[int] = (),
    documents: Iterable[int] = (),
) -> Assignment:
    if featured == Assignment.Featured.MAIN:
        raise ValueError("create it, then feature_assignment_as_main()")
    if status == Assignment.Status.DRAFT and (active or featured != Assignment.Featured.NONE):
        raise ValueError("a draft is neither open for reviews nor featured: pass active=False")
    assignment = Assignment.objects.create(
        title=title,
        slug=slug,
        description=description,
        threshold=threshold,
        featured=featured,
        feature_order=feature_order,
        active=active,
        status=status,
    )
    set_assignment_scope(assignment_id=assignment.pk, members=members, parties=parties, documents=documents)
    return assignment


@transaction.atomic
def set_retirement(
    *, assignment_id: int, retire_when_confident: bool, confidence_target: float = 0.95, min_reviews: int = 2
) -> Assignment:
    """Turn retiring-when-confident on or off (issue 25). Pages already retired stay retired:
    un-retiring in bulk is what Caesar users regretted most (caesar #378)."""
    if not 0.5 <= confidence_target < 1:
        raise ValueError("the confidence target is between 0.5 and 1")
    if min_reviews < 1:
        raise ValueError("at least one review before a page may retire")
    return _save(
        Assignment.objects.select_for_update().get(pk=assignment_id),
        retire_when_confident=retire_when_confident,
        confidence_target=confidence_target,
        min_reviews=min_reviews,
    )


@transaction.atomic
def prioritise_pages(*, assignment_id: int, page_ids: Iterable[int], by=None) -> int:
    """Mark pages of an assignment as priority (served first by the picker). Pages not in the
    assignment are ignored. Returns how many were newly marked."""
    assignment = Assignment.objects.get(pk=assignment_id)
    wanted = set(assignment.pages().filter(pk__in=list(page_ids)).values_list("pk", flat=True))
    existing = set(
        PriorityPage.objects.filter(assignment_id=assignment_id, page_id__in=wanted).values_list(
            "page_id", flat=True
        )
    )
    for page_id in sorted(wanted - existing):
        PriorityPage.objects.create(assignment_id=assignment_id, page_id=page_id, created_by=by)
    return len(wanted - existing)


@transaction.atomic
def deprioritise_pages(*, assignment_id: int, page_ids: Iterable[int]) -> int:
    """Serve these pages of an assignment like any other again. Returns how many were unmarked."""
    deleted, _ = PriorityPage.objects.filter(assignment_id=assignment_id, page_id__in=list(page_ids)).delete()
    return deleted


# --- Retiring confident pages; the embargo's ``sync_visibility`` is in denormalisations/public.py --


def retire_pages(*, assignment_id: int, page_ids: Iterable[int]) -> list[int]:
    """Retire these pages from the assignment before its threshold: the crowd is confident
    (``consensus.actions.retire_confident_pages`` decides; the assignment must have
    ``retire_when_confident``). Only pages of the assignment still below its threshold and not
    retired yet are retired; returns their ids.

    One done rule (``assignments.scope``): the to-do sets, the picker's check, its Postgres
    fallback and the progress counters read ``RetiredPage``. The progress counter changes in
    this transaction (the assignment row locked, as a review's does); after commit
    ``signals.pages_retired`` moves the pages to the done sets in Redis, exactly as a review
    crossing the threshold does, and the ids leave the memcached pool. Its tags are public from
    now on (``PageTag.listed_at``, stamped here). Nothing else changes (no count, no
    leaderboard), so no wider re-derivation is declared."""
    wanted = sorted({int(p) for p in page_ids})
    if not wanted:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        locked = (
            Assignment.objects.select_for_update()
            .filter(pk=assignment_id, retire_when_confident=True, active=True)
            .values_list("threshold", flat=True)
            .first()
        )
        if locked is None:
            return []
        cursor.execute(
            compose(
                "INSERT INTO {retiredpage} (assignment_id, page_id, review_count, created)"
                " SELECT %(aid)s, p.id, p.review_count, now() FROM {page} p"
                " WHERE p.id = ANY(%(pages)s) AND p.review_count < %(threshold)s"
                " AND {in_assignment}"
                " ON CONFLICT (assignment_id, page_id) DO NOTHING RETURNING page_id",
                in_assignment=sql.SQL(scope.page_in_assignment_sql()),
                **TABLES,
            ),
            {"aid": assignment_id, "pages": wanted, "threshold": locked},
        )
        retired = sorted(row[0] for row in cursor.fetchall())
        if retired:
            cursor.execute(
                compose(
                    "UPDATE {assignment} SET completed_count = completed_count + %(n)s WHERE id = %(aid)s",
                    **TABLES,
                ),
                {"n": len(retired), "aid": assignment_id},
            )
            # Public from now on, like a page at its threshold (page-tag-listed-at's rule).
            relist_pages(retired)
            transaction.on_commit(lambda: _after_retiring(assignment_id, retired))
    return retired


def _after_retiring(assignment_id: int, page_ids: list[int]) -> None:
    from assignments import signals

    for receiver, result in signals.pages_retired.send_robust(
        sender=Assignment, assignment_id=assignment_id, page_ids=page_ids
    ):
        if isinstance(result, Exception):
            log.warning("receiver %r failed: %r", receiver, result)
    # memcached down: the picker's check drops the ids when it meets them.
    with contextlib.suppress(pool.PoolUnavailable):
        pool.remove_from_pool(assignment_id, page_ids)
