"""Redis corrected where Postgres (the truth) disagrees with it, found by a pick: stale ids
removed from an assignment's sets, pages the reviewer has seen added to their seen set, a refused
claim given back; and a family Redis lost queued for rebuilding (the denormalisation registry).
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from assignments import picker_stats as stats
from assignments.picker.check import Checked
from assignments.picker.drawing import RANK_FAMILY
from assignments.picker.scripts import RELEASE
from lib import keys
from lib.redis_scripts import execute

log = logging.getLogger("crowd.picker")


def repair_redis(
    r: redis.Redis, aid: int, uid: int | None, checked: Checked, *, release: tuple[int, str] | None = None
) -> None:
    """Postgres disagreed with Redis: make Redis agree (and count it). ``release``: an id
    claimed before the check that the check refused, with its holder, whose place is given
    back."""
    if not (checked.gone or checked.full or (uid is not None and checked.seen) or release is not None):
        return
    pipe = r.pipeline(transaction=False)
    if release is not None and settings.PICKER_RESERVATION_SECONDS > 0:
        page_id, holder = release
        RELEASE.add(pipe, aid, page_id, holder, "release")
    if checked.gone:
        pipe.srem(keys.assignment_todo(aid), *checked.gone)
        pipe.zrem(keys.assignment_todo_rank(aid), *checked.gone)
        pipe.srem(keys.assignment_needed(aid), *checked.gone)
        pipe.srem(keys.assignment_done(aid), *checked.gone)
    if checked.full:
        pipe.srem(keys.assignment_todo(aid), *checked.full)
        pipe.zrem(keys.assignment_todo_rank(aid), *checked.full)
        pipe.sadd(keys.assignment_done(aid), *checked.full)
    if uid is not None and checked.seen:
        pipe.sadd(keys.reviewer_seen(uid), *checked.seen)
    execute(pipe, r)
    stale = len(checked.gone) + len(checked.full)
    if stale:
        log.info("picker: removed stale ids from assignment %s: %s", aid, checked.gone + checked.full)
        stats.count(stats.STALE_REMOVED, stale)


def mirror_missing(assignment_id: int) -> None:
    """The to-do set has ids but its sorted-set mirror has none: SRANDMEMBER served (slightly
    biased) and the mirror is rebuilt by a queued task (one per lock period, however many ask)."""
    from denorm.operations import queue_rebuild

    if family_ready(RANK_FAMILY):  # when the marker is gone too, this has queued the rebuild
        log.warning("picker: assignment %s has no to-do rank mirror; rebuild queued", assignment_id)
        queue_rebuild(RANK_FAMILY)


def family_ready(name: str) -> bool:
    """The registry's verdict (it queues a rebuild when Redis lost the family)."""
    from denorm.operations import redis_family_ready

    return redis_family_ready(name)
