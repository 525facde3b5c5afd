"""The Postgres check every candidate passes before it is served, whatever its source.

One indexed query for all candidates: the page exists, belongs to the assignment, is below the
threshold and was not reviewed or skipped by this reviewer. Ids that fail for everyone (deleted
pages, pages out of the assignment or already at the threshold) are reported apart, so that the
source can drop them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.apps import apps
from django.db import connection
from psycopg import sql

from assignments import scope
from assignments.models import Assignment, PriorityPage
from assignments.picker.state import STATE
from catalogue.models import Page
from lib.sql_names import compose

# The tables the checks read. Reviews and skips belong to the reviewing, a layer above: their
# models are looked up by label, not imported.
TABLES = {
    "page": Page,
    "review": apps.get_model("reviews", "Review"),
    "skip": apps.get_model("reviews", "Skip"),
    "prioritypage": PriorityPage,
    "assignment": Assignment,
}

# Both conditions are written with uncorrelated ARRAY(...) subqueries (run once per query) and
# scalar subqueries by primary key or unique index (run per row): the planner cannot turn them
# into hashes over every document of the assignment or every review of the reviewer, so the cost
# per candidate stays the same whatever the size of the assignment or the reviewer's history.

# The page belongs to the assignment (the rule lives in assignments.scope).
MEMBER_SQL = scope.page_in_assignment_sql()

# The assignment retired the page early (issue 25): done, like a page at the threshold.
RETIRED_SQL = scope.retired_sql()

# This reviewer reviewed or skipped the page (unique (reviewer, page) indexes: one row at most).
SEEN_SQL = compose(
    """(
    (SELECT 1 FROM {review} r WHERE r.reviewer_id = %(uid)s::bigint AND r.page_id = p.id) IS NOT NULL
    OR (SELECT 1 FROM {skip} s WHERE s.reviewer_id = %(uid)s::bigint AND s.page_id = p.id) IS NOT NULL)""",
    **TABLES,
)

# An editor marked the page as priority in this assignment (unique (assignment, page) index).
PRIORITY_SQL = compose(
    """(
    (SELECT 1 FROM {prioritypage} pp WHERE pp.assignment_id = %(aid)s AND pp.page_id = p.id)
    IS NOT NULL)""",
    **TABLES,
)

# The other active assignments containing the page: a claim is copied into these and no others
# (claims.copy_claim), so a pick costs the same whatever the number of active assignments.
OTHERS_SQL = compose(
    """ARRAY(SELECT a.id FROM {assignment} a
    WHERE a.active AND a.id <> %(aid)s AND a.id IN ({containing}))""",
    containing=sql.SQL(scope.assignments_of_document_sql("p.document_id")),
    **TABLES,
)

# What every candidate is checked for, by the name the two checks below give it.
_CHECKS = {
    name: sql.SQL(text)
    for name, text in {
        "member": MEMBER_SQL,
        "seen": SEEN_SQL,
        "priority": PRIORITY_SQL,
        "others": OTHERS_SQL,
        "retired": RETIRED_SQL,
    }.items()
}

# One query for all candidates, each found by primary key.
_CHECK_SQL = compose(
    """
SELECT c.id, p.id IS NOT NULL, p.id IS NOT NULL AND {member}, COALESCE(p.review_count, 0),
       p.id IS NOT NULL AND {seen}, p.id IS NOT NULL AND {priority}, {others},
       p.id IS NOT NULL AND {retired}
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS c(id, n)
LEFT JOIN {page} p ON p.id = c.id
ORDER BY c.n
""",
    **_CHECKS,
    **TABLES,
)

# The same for one candidate (the usual case: the id the first draw claimed). Scalar parameters
# instead of an array to encode and unnest: a little cheaper on both sides.
_CHECK_ONE_SQL = compose(
    """
SELECT c.id, p.id IS NOT NULL, p.id IS NOT NULL AND {member}, COALESCE(p.review_count, 0),
       p.id IS NOT NULL AND {seen}, p.id IS NOT NULL AND {priority}, {others},
       p.id IS NOT NULL AND {retired}
FROM (VALUES (%(id)s::bigint)) AS c(id)
LEFT JOIN {page} p ON p.id = c.id
""",
    **_CHECKS,
    **TABLES,
)


def _run_check(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run the check as a prepared statement with a generic plan.

    Planning this query costs more than running it (about 0.4 ms against 0.15 ms) and its plan
    does not depend on the values, so it is prepared once per connection (server-side binding)
    and planned once. ``plan_cache_mode`` only affects prepared statements, and Django prepares
    none of its own (``prepare_threshold`` is None), so the session setting changes nothing else.
    The query still goes through Django's error wrapping and query log.
    """
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with connection.wrap_database_errors:
        if raw not in STATE.generic_plan_connections:
            if raw.prepare_threshold is None:
                raw.prepare_threshold = 2**31 - 1  # explicit prepare=True only, never automatic
            with psycopg.ClientCursor(raw) as cursor:
                cursor.execute("SET plan_cache_mode = force_generic_plan")
            STATE.generic_plan_connections.add(raw)
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params, prepare=True)
            rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql.strip()} -- {params}", "time": f"{time.perf_counter() - started:.3f}"}
        )
    return rows


@dataclass
class Checked:
    valid: list[int] = field(default_factory=list)  # servable, in the order given
    gone: list[int] = field(default_factory=list)  # no such page, or not in the assignment
    full: list[int] = field(default_factory=list)  # at the threshold already, or retired
    seen: list[int] = field(default_factory=list)  # this reviewer reviewed or skipped it
    counts: dict[int, int] = field(default_factory=dict)  # review_count of each valid one
    priority: set[int] = field(default_factory=set)  # the valid ones that are priority pages
    # The other active assignments containing each valid one (where its claims are copied).
    others: dict[int, list[int]] = field(default_factory=dict)

    def remaining(self, page_id: int, threshold: int) -> int:
        """Reviews a valid page still needs."""
        return threshold - self.counts[page_id]

    def preferred(self, order: str) -> list[int]:
        """The valid ids, best first: priority pages, then (order "fewest") the fewest reviews;
        in random order within each group, so that taking the first is uniform within it."""
        valid = list(self.valid)
        random.shuffle(valid)
        fewest = order == "fewest"
        return sorted(valid, key=lambda i: (i not in self.priority, self.counts[i] if fewest else 0))


def check(assignment: Assignment, uid: int | None, ids: list[int]) -> Checked:
    """Sort ``ids`` into servable to ``uid`` (None: anyone) and why the others are not."""
    checked = Checked()
    if not ids:
        return checked
    if len(ids) == 1:
        rows = _run_check(_CHECK_ONE_SQL, {"id": int(ids[0]), "aid": assignment.pk, "uid": uid})
    else:
        rows = _run_check(_CHECK_SQL, {"ids": [int(i) for i in ids], "aid": assignment.pk, "uid": uid})
    for page_id, exists, member, review_count, seen, priority, others, retired in rows:
        if not exists or not member:
            checked.gone.append(page_id)
        elif review_count >= assignment.threshold or retired:
            checked.full.append(page_id)
        elif seen:
            checked.seen.append(page_id)
        else:
            checked.valid.append(page_id)
            checked.counts[page_id] = review_count
            checked.others[page_id] = sorted(others or ())
            if priority:
                checked.priority.add(page_id)
    return checked


def valid_todo_ids(*, assignment: Assignment, page_ids: list[int]) -> list[int]:
    """Those of ``page_ids`` that are to-do pages of the assignment (for anyone), in order."""
    return check(assignment, None, page_ids).valid
