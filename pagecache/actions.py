"""Writes of the page cache app."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction


def add_page_cache_counts(*, rows: Iterable[tuple[datetime, str, int]]) -> None:
    """Add (hour, name, count) rows of the page cache's counters in one statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO pagecache_pagecachestat (hour, name, count) VALUES (%s, %s, %s) "
            "ON CONFLICT (hour, name) DO UPDATE "
            "SET count = pagecache_pagecachestat.count + EXCLUDED.count",
            list(rows),
        )
