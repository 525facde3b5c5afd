"""The lock that says "this document is being imported right now".

A Postgres session advisory lock, shared by the importer (which holds it while importing) and
``catalogue.actions.documents.requeue_stalled_imports`` (which requeues only documents no worker
holds). In its own module so that both can use it without importing each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

# Advisory-lock namespace (first key) for "this document is being imported right now".
LOCK_NAMESPACE = 0x43524F57  # "CROW"


@contextlib.contextmanager
def import_lock(document_id: int) -> Iterator[bool]:
    """Try to take the import lock of a document; yields whether it was taken.

    Unlike a status flag, it cannot go stale: when a worker is killed mid-import its connection
    closes and Postgres releases the lock, so the redelivered task (acks_late) can start over.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, document_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, document_id])
