"""``/staff/cache/``: how the next-page picker and the full-page cache (pagecache/) are serving."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import redis
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from assignments import picker, picker_stats, pool
from assignments.models import Assignment, PickerStat
from lib import keys
from lib.redis_client import get_redis
from lib.web import staff_required
from pagecache import stats as page_cache_stats
from pagecache.actions import collect_nginx_page_log

log = logging.getLogger("crowd.pagecache")


def picker_counts() -> list[dict]:
    """Per source and event: the last hour, the last 24 hours, all time, and this process's
    counts not yet stored."""
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)

    def totals(qs) -> dict[str, int]:
        return dict(qs.values_list("source").annotate(n=Sum("count")).values_list("source", "n"))

    this_hour = totals(PickerStat.objects.filter(hour__gte=hour))
    day = totals(PickerStat.objects.filter(hour__gte=hour - timedelta(hours=23)))
    ever = totals(PickerStat.objects.all())
    pending = picker_stats.pending()
    labels = {
        picker_stats.REDIS: "Served from the Redis to-do set",
        picker_stats.POOL: "Served from the memcached pool (Redis down)",
        picker_stats.POSTGRES: "Served by the Postgres fallback",
        picker_stats.NOTHING_LEFT: "Nothing left for the reviewer (done page)",
        picker_stats.BUSY: "Every page the reviewer could review was fully reserved by others",
        picker_stats.STALE_REMOVED: "Stale ids removed (Postgres disagreed)",
        picker_stats.REDIS_UNAVAILABLE: "Redis down or its sets not built",
        picker_stats.POOL_UNAVAILABLE: "memcached down",
        picker_stats.POOL_REFILLED: "Pools refilled",
    }
    meanings = {
        picker_stats.REDIS: "The normal path: a page drawn at random from the assignment's to-do set in Redis.",
        picker_stats.POOL: "Redis was down or not built, so the page came from the list of to-do pages kept "
        "in memcached. Fine for a while; many of these mean Redis needs attention.",
        picker_stats.POSTGRES: "Both Redis and memcached failed, so Postgres chose the page (slower, still "
        "random). Should be rare.",
        picker_stats.NOTHING_LEFT: "A reviewer had nothing left to review in their assignment and was shown "
        "the “done” page.",
        picker_stats.STALE_REMOVED: "Pages a copy offered that Postgres said were finished, deleted or already "
        "reviewed; removed and another page picked. A few are normal (races between reviewers).",
        picker_stats.REDIS_UNAVAILABLE: "Times Redis could not be asked (down, or its sets still being built).",
        picker_stats.POOL_UNAVAILABLE: "Times memcached could not be asked.",
        picker_stats.POOL_REFILLED: "Times the background task refilled an assignment's memcached list.",
    }
    names = list(picker_stats.SOURCES) + list(picker_stats.EVENTS)
    names += sorted(set(ever) - set(names))
    return [
        {
            "name": name,
            "label": labels.get(name, name),
            "meaning": meanings.get(name, ""),
            "hour": this_hour.get(name, 0),
            "day": day.get(name, 0),
            "ever": ever.get(name, 0),
            "pending": pending.get(name, 0),
        }
        for name in names
    ]


def assignment_states() -> list[dict]:
    """Each active assignment: its Redis to-do set, reservations and memcached pool."""
    rows = []
    r = get_redis()
    for assignment in Assignment.objects.filter(active=True).order_by("feature_order", "title"):
        row = {"assignment": assignment, "todo": None, "reserved": None, "pool": None, "pool_state": ""}
        try:
            pipe = r.pipeline(transaction=False)
            pipe.scard(keys.assignment_todo(assignment.pk))
            pipe.zcard(keys.assignment_holds(assignment.pk))
            row["todo"], row["reserved"] = pipe.execute()
        except redis.RedisError:
            pass
        try:
            ids = pool.get_pool(assignment.pk)
            row["pool"] = None if ids is None else len(ids)
            row["pool_state"] = "no pool yet" if ids is None else ""
        except pool.PoolUnavailable:
            row["pool_state"] = "memcached down"
        rows.append(row)
    return rows


def redis_state() -> dict:
    try:
        r = get_redis()
        r.ping()
        families = {
            name: bool(r.exists(keys.built_marker(name))) for name in (picker.TODO_FAMILY, picker.SEEN_FAMILY)
        }
        return {"up": True, "families": families}
    except redis.RedisError as exc:
        return {"up": False, "error": str(exc), "families": {}}


def served_summary(counts: list[dict]) -> dict | None:
    """The last 24 hours in one sentence's numbers: pages served, and the share of each source."""
    by_name = {row["name"]: row["day"] for row in counts}
    served = {name: by_name.get(name, 0) for name in picker_stats.SOURCES}
    total = sum(served.values())
    if not total:
        return None
    return {
        "total": total,
        "redis": round(100 * served.get(picker_stats.REDIS, 0) / total),
        "pool": round(100 * served.get(picker_stats.POOL, 0) / total),
        "postgres": round(100 * served.get(picker_stats.POSTGRES, 0) / total),
    }


@never_cache
@staff_required
def cache_status(request):
    picker_stats.flush()  # this process's counts first, so the page is current
    page_cache_stats.flush()
    if settings.NGINX_PAGE_LOG_DIR:  # nginx's lines up to its last flush (at most 5 s old)
        try:
            collect_nginx_page_log(directory=Path(settings.NGINX_PAGE_LOG_DIR))
        except OSError as exc:  # unreadable (a volume not mounted): the rest of the page still helps
            log.warning("could not read nginx's page log: %r", exc)
    counts = picker_counts()
    return render(
        request,
        "staff/cache.html",
        {
            "summary": served_summary(counts),
            "reservation_seconds": settings.PICKER_RESERVATION_SECONDS,
            "pool_size": settings.PICKER_POOL_SIZE,
            "picker_counts": counts,
            "page_cache_counts": page_cache_stats.summary(),
            "assignments": assignment_states(),
            "redis": redis_state(),
        },
    )
