"""Redis: the ids of the active assignments (the picker shares claims across them)."""

from __future__ import annotations

import uuid

from assignments.models import Assignment
from denorm.changes import Changes
from denorm.redis_sets import (
    sync_set,
)
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys
from lib.redis_client import get_redis


def _active_truth() -> set[int]:
    return set(Assignment.objects.filter(active=True).values_list("pk", flat=True))


def rebuild_active_assignments() -> None:
    key = keys.active_assignments()
    tmp = f"{key}:tmp:{uuid.uuid4().hex[:12]}"  # same hash tag: RENAME stays in one slot
    ids = sorted(_active_truth())
    pipe = get_redis().pipeline(transaction=True)
    if ids:
        pipe.sadd(tmp, *ids)
        pipe.rename(tmp, key)
    else:
        pipe.delete(key)
    pipe.execute()


def check_active_assignments() -> Drift:
    return sync_set(keys.active_assignments(), _active_truth(), label="active assignments")


def repair_active_assignments() -> Drift:
    actual = get_redis().smembers(keys.active_assignments())  # Redis before Postgres
    return sync_set(
        keys.active_assignments(), _active_truth(), actual=actual, fix=True, label="active assignments"
    )


def refresh_active_assignments(changes: Changes) -> None:
    if not changes.assignments:
        return
    active = set(
        Assignment.objects.filter(pk__in=changes.assignments, active=True).values_list("pk", flat=True)
    )
    pipe = get_redis().pipeline(transaction=False)
    for assignment_id in changes.assignments:
        (pipe.sadd if assignment_id in active else pipe.srem)(keys.active_assignments(), assignment_id)
    pipe.execute()


register(
    Denormalisation(
        name="active-assignments",
        description="The ids of the active assignments. The next-page picker reads it with each "
        "draw and copies the page it hands out into the other assignments' soft reservations, "
        "so that reviewers of overlapping assignments (a party and one of its members) are not "
        "handed the same page at once.",
        derived_from="`assignments_assignment.active`",
        lives_in="Redis set `crowd:v1:{active}:assignments`",
        kept_current_by="after commit: `post_save` and `post_delete` of an assignment (through "
        "`denorm.changed`)",
        rebuild=rebuild_active_assignments,
        check=check_active_assignments,
        repair=repair_active_assignments,
        refresh=refresh_active_assignments,
        order=49,
        store=Store.REDIS,
    )
)
