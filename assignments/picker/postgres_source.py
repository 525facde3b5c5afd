"""Source 3, Postgres: the last resort when Redis and memcached are both down, and the judge of
"nothing left". Never ``ORDER BY random()``.

``PG_RANDOM_IDS`` ids drawn uniformly from the assignment's own id range and checked by primary
key (rejection sampling: uniform, no herding); when none of them is a to-do page (a sparse or
nearly finished assignment), a bounded circular index scan from a random starting id of that
range; then, only when that finds nothing, one query the planner can answer from the
assignment's own documents. A process prefers pages it did not hand out recently
(:func:`spread`).
"""

from __future__ import annotations

import random
from functools import lru_cache

from django.conf import settings
from django.db import connection
from psycopg import sql

from assignments import picker_stats as stats
from assignments import scope
from assignments.models import Assignment
from assignments.picker.check import MEMBER_SQL, RETIRED_SQL, SEEN_SQL, TABLES, Checked, check
from assignments.picker.clock import clock
from assignments.picker.result import PickResult
from assignments.picker.state import STATE
from lib.sql_names import composable, compose

PG_RANDOM_IDS = 64  # ids drawn from the assignment's id range per Postgres-fallback pick
PG_RANGE_SECONDS = 60.0
PG_CANDIDATES = 32  # rows the Postgres fallback's scan returns to choose from at random
PG_DEFINITIVE_ROWS = 1000  # rows the last-resort query returns (no order: the choice is made here)
PG_SCAN_CAP = 20_000  # to-do index entries the bounded Postgres probe may read per branch
PG_MAX_BRANCHES = 16  # thresholds up to this use one index range per review_count value
PG_RECENT_MAX = 10_000  # ids remembered by the Postgres fallback's in-process spreading

# The fragments and tables the queries below are composed of (lib.sql_names).
PARTS = {
    **composable(TABLES),
    "member": sql.SQL(MEMBER_SQL),
    "seen": sql.SQL(SEEN_SQL),
    "retired": sql.SQL(RETIRED_SQL),
    "documents_of_assignment": sql.SQL(scope.documents_of_assignment_sql()),
}
_PROBE_BRANCH = sql.SQL(
    "(SELECT p.id FROM (SELECT id, document_id, withdrawn_at, known_answer FROM {page} "
    "WHERE {count} AND {cond} ORDER BY id LIMIT %(cap)s) p "
    "WHERE {member} AND NOT {seen} AND NOT {retired} LIMIT %(k)s)"
)


@lru_cache(maxsize=256)  # a few thresholds and counts: composed once each
def _probe_sql(threshold: int, counts: tuple[int, ...] | None = None) -> str:
    """The first ``k`` to-do pages of the assignment for the reviewer in a circular scan of ids
    from a random start: those at or after the start, then, only for the shortfall, wrapping
    round to the smallest ids (a wrap-around branch that always contributed would put the
    assignment's first pages in every draw: herding). One index range per review_count value
    below the threshold, each an ordered range scan of the (review_count, id) index reading at
    most ``cap`` entries, merged in id order so that no review_count is over-represented. When
    the forward scan finds ``k``, the wrap-around's LIMIT is 0 and it is never executed."""
    if counts is not None:
        branches = [f"review_count = {int(c)}" for c in counts]
    elif threshold <= PG_MAX_BRANCHES:
        branches = [f"review_count = {c}" for c in range(threshold)]
    else:
        branches = [f"review_count < {int(threshold)}"]

    def side(cond: str) -> sql.Composable:
        return sql.SQL("\nUNION ALL\n").join(
            _PROBE_BRANCH.format(count=sql.SQL(count), cond=sql.SQL(cond), **PARTS) for count in branches
        )

    return (
        sql.SQL("""
WITH fwd AS MATERIALIZED (
  SELECT f.id FROM ({forward}) f ORDER BY f.id LIMIT %(k)s)
SELECT id FROM fwd
UNION ALL
(SELECT w.id FROM ({wrap}) w ORDER BY w.id
 LIMIT %(k)s - (SELECT count(*) FROM fwd))
""")
        .format(forward=side("id >= %(start)s"), wrap=side("id < %(start)s"))
        .as_string(None)
    )


def postgres_probe(
    assignment: Assignment, uid: int | None, *, window: int, cap: int, counts: tuple[int, ...] | None = None
) -> list[int]:
    """Up to ``window`` to-do page ids, consecutive in a circular scan from a random start.

    Fewer than ``window`` means the scan saw every to-do page of the assignment for the
    reviewer, or (a sparse assignment) that the ``cap`` entries read held too few of them.
    """
    # The start is drawn from the assignment's own id range: drawn from the whole table, every
    # start past the assignment's last page would wrap round to its first pages (herding).
    lo, hi = id_range(assignment)
    if lo is None or hi is None:
        return []
    start = random.randint(lo, hi)
    with connection.cursor() as cursor:
        cursor.execute(
            _probe_sql(assignment.threshold, counts),
            {"start": start, "cap": cap, "k": window, "aid": assignment.pk, "uid": uid},
        )
        return [row[0] for row in cursor.fetchall()]


# Any to-do pages of the assignment for the reviewer, found from the assignment's own documents
# or from the to-do index, whichever the planner finds cheaper. No order: no sort.
_DEFINITIVE_SQL = compose(
    """
SELECT p.id FROM {page} p
WHERE p.review_count < %(threshold)s AND p.withdrawn_at IS NULL AND NOT p.known_answer
  AND p.document_id IN (
    {documents_of_assignment})
  AND NOT {seen} AND NOT {retired}
LIMIT %(k)s
""",
    **PARTS,
)


def postgres_definitive(assignment: Assignment, uid: int | None, *, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            _DEFINITIVE_SQL, {"threshold": assignment.threshold, "aid": assignment.pk, "uid": uid, "k": limit}
        )
        return [row[0] for row in cursor.fetchall()]


# The smallest and largest page id of an assignment (from its own documents; no sort).
_RANGE_SQL = compose(
    """
SELECT min(p.id), max(p.id) FROM {page} p
WHERE p.document_id IN (
    {documents_of_assignment})
""",
    **PARTS,
)


def id_range(assignment: Assignment) -> tuple[int | None, int | None]:
    """The assignment's page id range, remembered for ``PG_RANGE_SECONDS`` in this process (it
    changes only when pages are imported or deleted, or the assignment is edited; a stale range
    costs a little uniformity for a minute, never a bad page: every id is checked)."""
    now = clock.now()
    with STATE.ranges_lock:
        cached = STATE.ranges.get(assignment.pk)
    if cached and cached[0] > now:
        return cached[1], cached[2]
    with connection.cursor() as cursor:
        cursor.execute(_RANGE_SQL, {"aid": assignment.pk})
        lo, hi = cursor.fetchone()
    with STATE.ranges_lock:
        if len(STATE.ranges) > 10_000:
            STATE.ranges.clear()
        STATE.ranges[assignment.pk] = (now + PG_RANGE_SECONDS, lo, hi)
    return lo, hi


def postgres_random_checked(assignment: Assignment, uid: int | None, *, k: int) -> Checked:
    """Like :func:`postgres_random_ids`, with the review counts and priority of the valid ids."""
    lo, hi = id_range(assignment)
    if lo is None or hi is None:
        return Checked()
    span = hi - lo + 1
    ids = random.sample(range(lo, hi + 1), k) if span > k else list(range(lo, hi + 1))
    return check(assignment, uid, ids)


# The assignment's priority pages still to review for the reviewer (unique (assignment, page)
# index: the cost is bounded by the assignment's priority pages, never its size).
_PRIORITY_SQL = compose(
    """
SELECT p.id FROM {prioritypage} pp JOIN {page} p ON p.id = pp.page_id
WHERE pp.assignment_id = %(aid)s AND p.review_count < %(threshold)s AND {member} AND NOT {seen} AND NOT {retired}
LIMIT %(k)s
""",
    **PARTS,
)


def postgres_priority(assignment: Assignment, uid: int | None, *, limit: int) -> list[int]:
    """Up to ``limit`` of the assignment's priority pages still to review for the reviewer."""
    with connection.cursor() as cursor:
        cursor.execute(
            _PRIORITY_SQL, {"aid": assignment.pk, "threshold": assignment.threshold, "uid": uid, "k": limit}
        )
        return [row[0] for row in cursor.fetchall()]


def postgres_random_ids(assignment: Assignment, uid: int | None, *, k: int) -> list[int]:
    """To-do pages of the assignment for the reviewer among ``k`` ids drawn uniformly from the
    assignment's id range, checked by primary key (the same check as every candidate's).
    Rejection sampling: each to-do page is found with the same probability, so there is no
    herding. Empty when the assignment's pages are sparse in its range or nearly all done;
    the callers then scan."""
    lo, hi = id_range(assignment)
    if lo is None or hi is None:
        return []
    span = hi - lo + 1
    ids = random.sample(range(lo, hi + 1), k) if span > k else list(range(lo, hi + 1))
    return check(assignment, uid, ids).valid


def pick_from_postgres(assignment: Assignment, uid: int | None) -> PickResult:
    """The last resort, and the judge of "nothing left". Never ORDER BY random().

    Priority pages first (one query bounded by the assignment's priority pages). Then
    ``PG_RANDOM_IDS`` random ids of the assignment's range, checked (uniform: rejection
    sampling). In "fewest reviews first" order, the tiers are taken by review count, lowest
    first: the random ids of that count when there are some (uniform within the tier), else a
    bounded probe of that count only (a circular index scan from a random start). In random
    order, the random ids, else a bounded probe of every count. When the assignment is a small
    part of the to-do pages (or finished) that may find nothing; then one query that the
    planner answers from the assignment's documents or from the to-do index, whichever is
    cheaper (cost bounded by the assignment's size), which returns nothing only when nothing is
    left for this reviewer; up to PG_DEFINITIVE_ROWS of its rows are chosen from, in the
    assignment's order. The choice among the candidates is :func:`spread`'s.
    """
    found = postgres_priority(assignment, uid, limit=PG_DEFINITIVE_ROWS)
    if found:
        return PickResult(spread(assignment.pk, found), stats.POSTGRES)
    sample = postgres_random_checked(assignment, uid, k=PG_RANDOM_IDS)
    if assignment.order == Assignment.Order.FEWEST_FIRST:
        for count in range(min(assignment.threshold, PG_MAX_BRANCHES)):
            found = [i for i in sample.valid if sample.counts[i] == count]
            if not found:
                found = postgres_probe(
                    assignment, uid, window=PG_CANDIDATES, cap=PG_SCAN_CAP, counts=(count,)
                )
            if found:
                return PickResult(spread(assignment.pk, found), stats.POSTGRES)
    else:
        found = sample.valid or postgres_probe(assignment, uid, window=PG_CANDIDATES, cap=PG_SCAN_CAP)
    if not found:
        # Unordered, so always much the same rows: take many (bounded) and choose among them
        # here, or every reviewer of a sparse assignment would share the same few pages.
        found = postgres_definitive(assignment, uid, limit=PG_DEFINITIVE_ROWS)
        if found and assignment.order == Assignment.Order.FEWEST_FIRST:
            checked = check(assignment, uid, found)
            if checked.valid:
                low = min(checked.counts.values())
                found = [i for i in checked.valid if checked.counts[i] == low]
    if not found:
        return PickResult(None, stats.NOTHING_LEFT)
    return PickResult(spread(assignment.pk, found), stats.POSTGRES)


def spread(assignment_id: int, found: list[int]) -> int:
    """At random among ``found`` not handed out recently by this process; when all were, the
    one handed out longest ago, so that the last pages rotate evenly.

    Soft spreading for the Postgres fallback, which has no shared reservations (Redis and
    memcached are both down): ``STATE.pg_recent`` holds the (assignment, page) ids this process
    handed out in the last PICKER_RESERVATION_SECONDS with the time, oldest first, at most
    PG_RECENT_MAX of them (the oldest are forgotten first). Per process only: it keeps one
    process's concurrent reviewers apart; across processes the random starts do the spreading.
    """
    seconds = settings.PICKER_RESERVATION_SECONDS
    if seconds <= 0:
        return random.choice(found)
    now = clock.now()
    recent = STATE.pg_recent
    with STATE.pg_recent_lock:
        while recent:
            oldest = next(iter(recent))
            if recent[oldest] > now - seconds:
                break
            del recent[oldest]
        handed = {page_id: recent.get((assignment_id, page_id)) for page_id in found}
        fresh = [page_id for page_id, at in handed.items() if at is None]
        chosen = random.choice(fresh) if fresh else min(found, key=lambda page_id: handed[page_id] or 0.0)
        recent[(assignment_id, chosen)] = now
        recent.move_to_end((assignment_id, chosen))
        while len(recent) > PG_RECENT_MAX:
            recent.popitem(last=False)
    return chosen
