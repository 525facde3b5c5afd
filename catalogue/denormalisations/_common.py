"""Helpers shared by the denormalisations of the reviews and assignments apps: chunks of ids, raw
reads, drift of counters and their repair. No rule of their own: the lowest app that uses them
(the catalogue) keeps them."""

from __future__ import annotations

import logging

from django.db import connection

from denorm.registry import Drift

log = logging.getLogger("crowd.denormalisation")


CHUNK = 2000  # rows locked and recounted per transaction by rebuilds (short locks while serving)


def _chunks(ids, size: int = CHUNK):
    ids = sorted(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _wrong_counts(label: str, sql: str) -> Drift:
    """Drift from a query returning (id, stored count, actual count) for each row that differs."""
    return _count_drift(label, _rows(sql))


def _count_drift(label: str, rows) -> Drift:
    drift = Drift()
    for row_id, stored, actual in rows:
        drift.wrong += 1
        drift.add_example(f"{label} {row_id}: {stored}, should be {actual}")
    return drift


def _repair_counts(label: str, sql: str, recount) -> Drift:
    """The periodic repair of a counter: the check's query, then a recount (rows locked first,
    as the rebuild does) of exactly the rows it found wrong."""
    rows = _rows(sql)
    if rows:
        recount([row[0] for row in rows])
    return _count_drift(label, rows)


def _where(*conditions: str) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""
