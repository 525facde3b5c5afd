"""The most active reviewers of the past 48 hours: a rolling window of hourly buckets.

Each hour has a sorted set user id -> reviews made in that hour (``lib.keys.recent_reviewers_hour``,
by the review's own timestamp). The window is the current hour and the 47 before it: a review
counts from the moment it is made until the end of the 47th hour after its own hour, so it drops
out between 47 and 48 hours later, with no rebuild (old buckets are simply no longer summed, and
expire). Reading sums the 48 buckets once per hour into a window key
(``lib.keys.recent_reviewers_window``, expiring at the end of the hour) that the write script
keeps current meanwhile: a home page view costs one script call (``ZREVRANGE`` on the window),
not 48 reads. Every key is in the ``{recent}`` hash slot.

"Now" is :data:`contributors.clock.clock`, which tests move across the boundaries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from django.db import connection
from psycopg import sql

from contributors.clock import clock
from lib import keys
from lib.sql_names import compose
from reviews.models import Review

TABLES = {
    "review": Review,
}

WINDOW_HOURS = 48
FAMILY_NAME = "recent-reviewers"
# A bucket lives until its hour has left every window, plus an hour's grace.
BUCKET_TTL_HOURS = WINDOW_HOURS + 1

BUCKET_PATTERN = keys.recent_reviewers_hour(0).replace(":h:0", ":h:*")
WINDOW_PATTERN = keys.recent_reviewers_window(0).replace(":w:0", ":w:*")


def hour_of(moment: datetime) -> int:
    """Whole hours since the epoch."""
    return int(moment.timestamp() // 3600)


def window_hours(now: datetime | None = None) -> list[int]:
    """The hours the window sums, oldest first."""
    current = hour_of(now or clock.now())
    return list(range(current - WINDOW_HOURS + 1, current + 1))


def window_start(now: datetime | None = None) -> datetime:
    return datetime.fromtimestamp(window_hours(now)[0] * 3600, tz=UTC)


def seconds_left_in_hour(now: datetime) -> int:
    return max(1, int((hour_of(now) + 1) * 3600 - now.timestamp()) + 1)


def bucket_ttl(hour: int, now: datetime) -> int:
    """Seconds a bucket must live from ``now``: until it left every window, plus an hour."""
    return max(60, int((hour + BUCKET_TTL_HOURS) * 3600 - now.timestamp()))


def truth(now: datetime | None = None, *, users=None) -> dict[str, dict[int, int]]:
    """Bucket key -> {user id: reviews} for every hour of the window, from Postgres (hours
    without reviews are present and empty)."""
    hours = window_hours(now)
    since = datetime.fromtimestamp(hours[0] * 3600, tz=UTC)
    until = datetime.fromtimestamp((hours[-1] + 1) * 3600, tz=UTC)
    query = (
        "SELECT floor(extract(epoch FROM r.created) / 3600)::bigint, r.reviewer_id, count(*)"
        " FROM {review} r WHERE r.created >= %(since)s AND r.created < %(until)s"
        " AND NOT r.quarantined{users}"
        " GROUP BY 1, 2"
    )
    params: dict = {"since": since, "until": until}
    if users is not None:
        params["users"] = sorted(users)
    out: dict[str, dict[int, int]] = {keys.recent_reviewers_hour(h): {} for h in hours}
    with connection.cursor() as cursor:
        narrow = " AND r.reviewer_id = ANY(%(users)s)" if users is not None else ""
        cursor.execute(compose(query, users=sql.SQL(narrow), **TABLES), params)
        for hour, user, count in cursor.fetchall():
            out[keys.recent_reviewers_hour(hour)][user] = count
    return out


def window_sum(buckets: dict[str, dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = defaultdict(int)
    for members in buckets.values():
        for user, count in members.items():
            total[user] += count
    return dict(total)


def top_sql(limit: int, now: datetime | None = None) -> tuple[str, dict]:
    """The Postgres fallback: reviews of the window grouped by reviewer (bounded by a statement
    timeout, see ``contributors.selectors``)."""
    return (
        compose(
            "SELECT 0, r.reviewer_id, count(*) FROM {review} r WHERE r.created >= %(since)s"
            " AND NOT r.quarantined"
            " GROUP BY 2 ORDER BY 3 DESC, 2 LIMIT %(limit)s",
            **TABLES,
        ),
        {"since": window_start(now), "limit": limit},
    )
