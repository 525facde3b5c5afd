"""Denormalisations of assignments (see the ``denorm`` app).

Redis, per active assignment (inactive assignments have no sets), all in the ``{a:<id>}`` hash
slot so that one command may touch them together:

- ``needed``: the ids of the assignment's pages (by its members, parties and documents);
- ``done``: those whose ``review_count`` reached the assignment's threshold;
- ``todo``: ``needed`` minus ``done``, built with ``SDIFFSTORE`` when the sets are rebuilt and then
  kept current member by member (SADD/SREM), so that no request pays for a set difference;
- ``todo-rank``: the same ids in a sorted set whose score encodes each page's free places
  (reviews still needed minus the picker's live reservations) and priority (see
  ``assignments/picker/tiers.lua``), kept in step with ``todo`` (ZADD/ZREM next to every
  SADD/SREM) and re-scored by every review and reservation. The picker draws from it by random
  rank within a band of equal scores (``ZRANGE key r r``, O(log n)): ``SRANDMEMBER`` on a set of
  more than 512 ids (a hashtable) favours some members up to several times over others;
- ``priority``: the ids of the assignment's priority pages (``PriorityPage``).

Postgres: ``Assignment.page_count`` and ``Assignment.completed_count``.

For the picker: :func:`rebuild_assignment_sets` rebuilds one assignment's three sets (build beside,
then swap), and ``denorm.redis_family_ready("assignment-todo")`` says whether the
sets can be trusted (queueing a rebuild when Redis lost them).
"""

from assignments.denormalisations import receivers
from assignments.denormalisations.active import (
    check_active_assignments,
    rebuild_active_assignments,
    refresh_active_assignments,
    repair_active_assignments,
)
from assignments.denormalisations.counts import (
    rebuild_assignment_counts,
    recount_assignments,
    refresh_assignment_counts,
)
from assignments.denormalisations.pools import POOL_LAG_SECONDS
from assignments.denormalisations.public import (
    check_document_page_public,
    rebuild_document_page_public,
    refresh_document_page_public,
    repair_document_page_public,
)
from assignments.denormalisations.sets import (
    KEY_OF,
    KINDS,
    PATTERNS,
    RESERVATION_KEYS,
    SET_NAMES,
    all_assignment_truth,
    assignment_truth,
    rank_scores,
    rebuild_all_assignment_sets,
    rebuild_assignment_sets,
    refresh_assignment_sets,
    sync_assignment_sets,
)

__all__ = [
    "KEY_OF",
    "KINDS",
    "PATTERNS",
    "POOL_LAG_SECONDS",
    "RESERVATION_KEYS",
    "SET_NAMES",
    "all_assignment_truth",
    "assignment_truth",
    "check_active_assignments",
    "check_document_page_public",
    "rank_scores",
    "rebuild_active_assignments",
    "rebuild_all_assignment_sets",
    "rebuild_assignment_counts",
    "rebuild_assignment_sets",
    "rebuild_document_page_public",
    "receivers",
    "recount_assignments",
    "refresh_active_assignments",
    "refresh_assignment_counts",
    "refresh_assignment_sets",
    "refresh_document_page_public",
    "repair_active_assignments",
    "repair_document_page_public",
    "sync_assignment_sets",
]
