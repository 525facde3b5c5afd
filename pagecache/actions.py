"""Writes of the page cache app."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.db import connection, transaction

from lib.sql_names import compose
from pagecache.models import PageCacheStat

TABLES = {
    "pagecachestat": PageCacheStat,
}

# pg_try_advisory_xact_lock key of the nginx page log collector ("crowdngx" in ASCII).
NGINX_LOG_LOCK = 0x63726F77646E6778


def add_page_cache_counts(*, rows: Iterable[tuple[datetime, str, int]]) -> None:
    """Add (hour, name, count) rows of the page cache's counters in one statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            compose(
                "INSERT INTO {pagecachestat} (hour, name, count) VALUES (%s, %s, %s) "
                "ON CONFLICT (hour, name) DO UPDATE "
                "SET count = {pagecachestat}.count + EXCLUDED.count",
                **TABLES,
            ),
            list(rows),
        )


def _count_metrics(totals: dict[str, int]) -> None:
    from lib.metrics import count_page_cache

    for name, n in totals.items():
        count_page_cache(name, n)


def collect_nginx_page_log(*, directory: Path) -> int | None:
    """Add the counts of the lines nginx appended to its page log since the stored position, and
    store the new position, in one transaction (``pagecache.nginx_log``). Returns the number of
    lines counted, or None if another process is collecting (it counts them)."""
    from pagecache import nginx_log
    from pagecache.models import NginxLogPosition

    key = str(directory)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [NGINX_LOG_LOCK])
            if not cursor.fetchone()[0]:
                return None
        stored = NginxLogPosition.objects.filter(directory=key).first()
        position = stored and nginx_log.Position(inode=stored.inode, offset=stored.offset)
        collected = nginx_log.read_new(directory, position)
        rows = [(hour, name, n) for (hour, name), n in collected.counts.items()]
        if rows:
            add_page_cache_counts(rows=rows)
            # Prometheus too (crowd_page_cache_events_total{event="nginx-hit"|"nginx-miss"}),
            # once the position that says they were counted is stored.
            totals: dict[str, int] = {}
            for _, name, n in rows:
                totals[name] = totals.get(name, 0) + n
            transaction.on_commit(lambda: _count_metrics(totals))
        if collected.position is None:
            NginxLogPosition.objects.filter(directory=key).delete()
        elif collected.position != position:
            NginxLogPosition.objects.update_or_create(
                directory=key,
                defaults={"inode": collected.position.inode, "offset": collected.position.offset},
            )
        return sum(collected.counts.values())
