"""Postgres: ``Assignment.page_count``, ``completed_count`` and ``review_count``."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from psycopg import sql

from assignments import scope
from assignments.denormalisations.contexts import page_states
from assignments.models import Assignment, RetiredPage
from catalogue.models import Page
from denorm.changes import Changes
from denorm.registry import Denormalisation, Drift, register
from lib.sql_names import column, compose


def recount_assignments(assignment_ids) -> None:
    """Set ``page_count``, ``completed_count`` and ``review_count`` of these assignments from
    their pages. The
    assignment row is locked first: a concurrent ``submit_review`` either committed before (and is
    counted) or increments after this commits."""
    for assignment_id in sorted(assignment_ids):
        with transaction.atomic():
            threshold = (
                Assignment.objects.select_for_update()
                .filter(pk=assignment_id)
                .values_list("threshold", flat=True)
                .first()
            )
            if threshold is None:
                continue
            counts = Page.objects.filter(scope.page_filter(assignment_id)).aggregate(
                pages=Count("id"),
                # The done rule (assignments.scope): at the threshold, or retired early.
                done=Count(
                    "id",
                    filter=Q(review_count__gte=threshold)
                    | Q(pk__in=RetiredPage.objects.filter(assignment_id=assignment_id).values("page_id")),
                ),
                reviews=Coalesce(Sum("review_count"), 0),
            )
            Assignment.objects.filter(pk=assignment_id).exclude(
                page_count=counts["pages"], completed_count=counts["done"], review_count=counts["reviews"]
            ).update(
                page_count=counts["pages"], completed_count=counts["done"], review_count=counts["reviews"]
            )


def refresh_assignment_counts(changes: Changes) -> None:
    ids = set(changes.assignments)
    if changes.pages:
        now = page_states(changes.pages)
        for page_id, before in changes.pages.items():
            ids |= before.assignments
            if page_id in now:
                ids |= now[page_id][0].assignments
    if ids:
        recount_assignments(ids)


def rebuild_assignment_counts() -> None:
    recount_assignments(Assignment.objects.values_list("pk", flat=True))


def _count_check(field: str):
    def check() -> Drift:
        return _count_drift(field)[0]

    return check


def _count_repair(field: str):
    def repair() -> Drift:
        drift, ids = _count_drift(field)
        if ids:
            recount_assignments(ids)
        return drift

    return repair


def _count_drift(field: str) -> tuple[Drift, list[int]]:
    drift, ids = Drift(), []
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                "SELECT a.id, a.{field}, count(p.id), count(p.id) FILTER (WHERE p.review_count >= a.threshold"
                " OR {retired}),"
                " coalesce(sum(p.review_count), 0)"
                " FROM {assignment} a LEFT JOIN ({assignment_pages}) x ON x.assignment_id = a.id"
                " LEFT JOIN {page} p ON p.id = x.page_id GROUP BY a.id ORDER BY a.id",
                field=column(Assignment, field),
                retired=sql.SQL(scope.retired_sql("a.id", "p.id")),
                assignment_pages=sql.SQL(scope.assignment_pages_sql()),
                assignment=Assignment,
                page=Page,
            )
        )
        for pk, stored, pages, done, reviews in cursor.fetchall():
            actual = {"completed_count": done, "page_count": pages, "review_count": reviews}[field]
            if actual != stored:
                ids.append(pk)
                drift.wrong += 1
                drift.add_example(f"assignment {pk}: {stored}, should be {actual}")
    return drift, ids


_COUNTS_KEPT = (
    "`reviews.actions.submit_review` (completed_count and review_count, in the review's transaction, "
    "through `assignments.actions.assignment_progress_statement`); after commit, "
    "a recount of the affected assignments by `denorm.changed` (imports, page "
    "deletes and cascades, edits of members, parties, documents and threshold)."
)


register(
    Denormalisation(
        name="assignment-page-count",
        description="How many pages each assignment covers: the `max` of its progress bar.",
        derived_from="count of the assignment's pages (`assignments.scope.page_filter`)",
        lives_in="`assignments_assignment.page_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("page_count"),
        repair=_count_repair("page_count"),
        refresh=refresh_assignment_counts,
        order=20,
    )
)


register(
    Denormalisation(
        name="assignment-progress",
        description="How many of each assignment's pages reached its threshold: the `value` of its "
        "progress bar.",
        derived_from="count of the assignment's pages with `review_count >= threshold`",
        lives_in="`assignments_assignment.completed_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("completed_count"),
        repair=_count_repair("completed_count"),
        refresh=refresh_assignment_counts,
        order=21,
    )
)


register(
    Denormalisation(
        name="assignment-review-count",
        description="How many reviews the pages of each assignment have had (whichever assignment "
        "each was filed under): the “N reviews so far” beside its progress bar.",
        derived_from="sum of `reviews_page.review_count` over the assignment's pages",
        lives_in="`assignments_assignment.review_count`",
        kept_current_by=_COUNTS_KEPT,
        rebuild=rebuild_assignment_counts,
        check=_count_check("review_count"),
        repair=_count_repair("review_count"),
        refresh=refresh_assignment_counts,
        order=22,
    )
)
