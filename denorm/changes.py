"""Change tracking: how every copy follows Postgres after a write.

1. Postgres is the truth and copies change only after it commits. Counter columns change inside
   the writing transaction (the actions) or, for deletes and bulk changes, are recounted for the
   affected rows right after commit. Redis is written only in ``transaction.on_commit``.
2. Code that changes the truth where Django sends no signal (``QuerySet.update()``, raw SQL,
   ``bulk_create``) must call :func:`changed` in the same transaction, naming what it touched.
   :func:`changed` collects the ids and, once the transaction commits, re-derives exactly those
   parts of every registered copy from Postgres (each entry's ``refresh``). Saves, deletes
   (including ``QuerySet.delete()`` and cascades: Django sends ``pre_delete``/``post_delete`` per
   object whenever a receiver exists) and many-to-many edits are caught by signal receivers in
   the apps' ``denormalisations.py``, which call :func:`changed` themselves.

Whatever code still forgets is found and repaired by the periodic check
(:func:`denorm.operations.check_and_repair`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

log = logging.getLogger("crowd.denormalisation")


@dataclass
class PageContext:
    """Where a page lived (its owners and the assignments containing it) when it was captured.

    Captured before a page is deleted or moved, so that the copies it sat in can be found after
    commit, when Postgres no longer knows them.
    """

    documents: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    parties: set[int] = field(default_factory=set)
    assignments: set[int] = field(default_factory=set)

    def merge(self, other: PageContext | None) -> PageContext:
        if other is not None:
            self.documents |= other.documents
            self.members |= other.members
            self.parties |= other.parties
            self.assignments |= other.assignments
        return self


@dataclass
class Changes:
    """Ids whose copies must be re-derived from Postgres after commit (see :func:`changed`)."""

    # Pages whose membership or counters may have changed, with where they lived before.
    pages: dict[int, PageContext] = field(default_factory=dict)
    # (user id, page id): the user's reviews/skips of the page changed.
    seen: set[tuple[int, int]] = field(default_factory=set)
    # Whole copies to rebuild (an id that no longer exists, or an inactive assignment, means
    # "delete its copies").
    users: set[int] = field(default_factory=set)
    documents: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    parties: set[int] = field(default_factory=set)
    assignments: set[int] = field(default_factory=set)

    def merge(self, other: Changes) -> Changes:
        for page_id, context in other.pages.items():
            self.pages.setdefault(page_id, PageContext()).merge(context)
        self.seen |= other.seen
        self.users |= other.users
        self.documents |= other.documents
        self.members |= other.members
        self.parties |= other.parties
        self.assignments |= other.assignments
        return self

    def __bool__(self) -> bool:
        return bool(
            self.pages
            or self.seen
            or self.users
            or self.documents
            or self.members
            or self.parties
            or self.assignments
        )

    def seen_users(self) -> set[int]:
        return self.users | {u for u, _ in self.seen}


_local = threading.local()


def changed(
    *,
    pages: Iterable[int] | dict[int, PageContext | None] = (),
    seen: Iterable[tuple[int, int]] = (),
    users: Iterable[int] = (),
    documents: Iterable[int] = (),
    members: Iterable[int] = (),
    parties: Iterable[int] = (),
    assignments: Iterable[int] = (),
) -> None:
    """Declare that the truth behind these ids changed; every copy is re-derived for them after
    commit (immediately when called outside a transaction).

    ``pages``: pages added, removed, moved or with changed reviews (a dict may carry a
    :class:`PageContext` of where a page lived before, needed when it is about to be deleted or
    moved). ``seen``: (user id, page id) pairs whose reviews or skips changed. ``users``,
    ``documents``, ``members``, ``parties``, ``assignments``: rebuild everything derived from that
    reviewer, owner or assignment (a deleted id deletes its copies).

    Call it inside the transaction that made the change, e.g. after ``Page.objects.filter(...)
    .update(document=other)`` or raw SQL. Over-declaring is harmless (re-derivation is
    idempotent); forgetting leaves drift that only ``check_denormalisations`` will see.
    """
    item = Changes(
        pages={
            int(p): (ctx if isinstance(ctx, PageContext) else PageContext())
            for p, ctx in (pages.items() if isinstance(pages, dict) else ((p, None) for p in pages))
        },
        seen={(int(u), int(p)) for u, p in seen},
        users={int(u) for u in users},
        documents={int(d) for d in documents},
        members={int(m) for m in members},
        parties={int(p) for p in parties},
        assignments={int(a) for a in assignments},
    )
    if not item:
        return
    if not connection.in_atomic_block:
        apply_changes(item)
        return
    queued = {id(entry[1]) for entry in connection.run_on_commit}
    pending = _pending()
    # Forget changes of rolled-back transactions or savepoints: their callbacks were discarded.
    pending[:] = [(p, cb) for p, cb in pending if id(cb) in queued]
    if pending:
        # A callback of this transaction is still queued: merge into it (a cascade deleting a
        # thousand pages queues one callback, not a thousand).
        pending[-1][0].merge(item)
        return

    def callback() -> None:
        flush(item)

    pending.append((item, callback))
    transaction.on_commit(callback)


def _pending() -> list[tuple[Changes, Callable[[], None]]]:
    if not hasattr(_local, "pending"):
        _local.pending = []
    return _local.pending  # type: ignore[no-any-return]  # a thread-local attribute


def flush(item: Changes | None = None) -> None:
    """Apply the pending Changes of this thread now (called by the on-commit callback)."""
    pending = _pending()
    if item is not None and not any(p is item for p, _ in pending):
        return  # already applied
    merged = Changes()
    for p, _ in pending:
        merged.merge(p)
    pending.clear()
    if merged:
        apply_changes(merged)


def apply_changes(changes: Changes) -> None:
    from denorm.operations import mark_stale
    from denorm.registry import all_entries

    """Run every entry's ``refresh`` once, in registry order; a failure flags its entries stale
    (the periodic task rebuilds them) instead of failing the request that committed."""
    done: list[Callable[[Changes], None]] = []
    for entry in all_entries():
        fn = entry.refresh
        if fn is None or any(fn is d for d in done):
            continue
        done.append(fn)
        try:
            fn(changes)
        except Exception as exc:
            log.warning("refreshing %s failed: %r", entry.name, exc)
            mark_stale([e.name for e in all_entries() if e.refresh is fn], repr(exc)[:200])


def context_cache() -> dict[Any, Any]:
    """A cache for capture helpers that lives as long as the current transaction (one query per
    document while a cascade deletes its thousand pages); no caching outside transactions."""
    if not connection.in_atomic_block:
        return {}
    # run_on_commit is a new list after every commit or rollback: it identifies the transaction.
    owner = connection.run_on_commit
    if getattr(_local, "cache_owner", None) is not owner:
        _local.cache_owner = owner
        _local.context_cache = {}
    return _local.context_cache  # type: ignore[no-any-return]  # a thread-local attribute
