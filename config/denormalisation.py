"""The denormalisation registry: every copy of data that is not the source of truth.

Each app declares its entries in its own ``denormalisations.py`` (autodiscovered in
``config.apps.CrowdConfig.ready``, the way ``admin.py`` is). An entry says what it is derived
from, where it lives, what keeps it current, and how to rebuild and check it from Postgres.
``manage.py rebuild_denormalisations``, ``manage.py check_denormalisations``,
``/staff/denormalisations/`` and ``docs/denormalisations.md`` are all loops over this registry.

Keeping copies current follows two rules:

1. Postgres is the truth and copies change only after it commits. Counter columns change inside
   the writing transaction (``reviews.actions``) or, for deletes and bulk changes, are recounted
   for the affected rows right after commit. Redis is written only in ``transaction.on_commit``.
2. Code that changes the truth where Django sends no signal (``QuerySet.update()``, raw SQL,
   ``bulk_create``) must call :func:`changed` in the same transaction, naming what it touched.
   :func:`changed` collects the ids and, once the transaction commits, re-derives exactly those
   parts of every registered copy from Postgres (each entry's ``refresh``). Saves, deletes
   (including ``QuerySet.delete()`` and cascades: Django sends ``pre_delete``/``post_delete`` per
   object whenever a receiver exists) and many-to-many edits are caught by signal receivers in
   the apps' ``denormalisations.py``, which call :func:`changed` themselves.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction

log = logging.getLogger("crowd.denormalisation")

# How long one process may hold the "rebuild this family" lock before another may queue again.
REBUILD_LOCK_SECONDS = 600
# Members per SADD when (re)building a set: big enough to be fast, small enough not to block Redis.
REDIS_CHUNK = 5000


@dataclass
class Drift:
    """What ``check`` found. Zero everywhere means the copy agrees with Postgres."""

    missing: int = 0  # in Postgres, absent from the copy
    extra: int = 0  # in the copy, absent from Postgres (the Guardian's deleted pages)
    wrong: int = 0  # present in both, with a different value (counts)
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.wrong)

    def add_example(self, text: str, limit: int = 5) -> None:
        if len(self.examples) < limit:
            self.examples.append(text)

    def merge(self, other: Drift) -> Drift:
        self.missing += other.missing
        self.extra += other.extra
        self.wrong += other.wrong
        for example in other.examples:
            self.add_example(example)
        return self

    def __str__(self) -> str:
        if self.ok:
            return "ok"
        text = f"missing {self.missing}, extra {self.extra}, wrong {self.wrong}"
        return f"{text} (e.g. {'; '.join(self.examples)})" if self.examples else text


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


class Store:
    REDIS = "redis"
    POSTGRES = "postgres"
    MEMCACHED = "memcached"


@dataclass(frozen=True)
class Denormalisation:
    name: str  # short, stable, kebab-case: used on the command line
    description: str  # one paragraph
    derived_from: str  # the Postgres source of truth
    lives_in: str  # Redis key pattern, table.column or memcached key
    kept_current_by: str  # which actions, signals and tasks update it
    rebuild: Callable[[], None]
    check: Callable[[], Drift]
    # Lower rebuilds first: an entry that reads another copy (the to-do set reads the needed and
    # done sets) must come after it.
    order: int = 100
    store: str = Store.POSTGRES
    # Re-derives the parts named by a Changes after commit. Entries may share one function (and
    # one ``rebuild``): it then runs once.
    refresh: Callable[[Changes], None] | None = None

    @property
    def has_marker(self) -> bool:
        """Redis families carry a built marker: its absence means Redis lost them."""
        return self.store == Store.REDIS


_registry: dict[str, Denormalisation] = {}


def register(entry: Denormalisation) -> Denormalisation:
    if entry.name in _registry and _registry[entry.name] is not entry:
        raise ValueError(f"denormalisation {entry.name!r} is registered twice")
    _registry[entry.name] = entry
    return entry


def all_entries() -> list[Denormalisation]:
    return sorted(_registry.values(), key=lambda e: (e.order, e.name))


def get(name: str) -> Denormalisation:
    try:
        return _registry[name]
    except KeyError:
        raise KeyError(f"unknown denormalisation {name!r}; known: {', '.join(sorted(_registry))}") from None


def select(names: list[str] | None) -> list[Denormalisation]:
    """The named entries in rebuild order (all when ``names`` is empty)."""
    if not names:
        return all_entries()
    wanted = {get(n).name for n in names}
    return [e for e in all_entries() if e.name in wanted]


# --- Rebuild and check ------------------------------------------------------------------------


def rebuild_entries(entries: Iterable[Denormalisation]) -> list[tuple[str, float]]:
    """Rebuild the entries from Postgres, in order; returns (names, seconds) per rebuild run.

    Entries sharing a ``rebuild`` function are rebuilt once. Redis families get their built
    marker only after their rebuild finished, and the run is recorded for the staff page.
    """
    from config.redis_client import get_redis

    done: list[Callable] = []
    runs: list[tuple[str, float]] = []
    for entry in entries:
        if any(entry.rebuild is fn for fn in done):
            continue
        done.append(entry.rebuild)
        group = [e for e in all_entries() if e.rebuild is entry.rebuild]
        started = time.monotonic()
        entry.rebuild()
        seconds = time.monotonic() - started
        markers = [keys_built_marker(e.name) for e in group if e.has_marker]
        if markers:
            # One SET per marker, not MSET: markers live in different Redis Cluster slots.
            pipe = get_redis().pipeline(transaction=False)
            for marker in markers:
                pipe.set(marker, str(int(time.time())))
            pipe.execute()
        for e in group:
            _record(e.name, rebuilt_seconds=seconds)
        runs.append((", ".join(e.name for e in group), seconds))
    return runs


def check_entries(entries: Iterable[Denormalisation]) -> list[tuple[Denormalisation, Drift]]:
    """Compare each entry with Postgres; record the outcome for the staff page."""
    results = []
    for entry in entries:
        drift = entry.check()
        _record(entry.name, drift=drift)
        results.append((entry, drift))
    return results


def _record(name: str, *, rebuilt_seconds: float | None = None, drift: Drift | None = None) -> None:
    from config.models import DenormalisationState

    try:
        DenormalisationState.record(name, rebuilt_seconds=rebuilt_seconds, drift=drift)
    except Exception:  # the run itself matters more than its log line on the staff page
        log.exception("could not record the %s run of %s", "rebuild" if drift is None else "check", name)


def mark_stale(names: Iterable[str], reason: str) -> None:
    """An on-commit update failed (Redis down): flag the entries for the next periodic rebuild."""
    from config.models import DenormalisationState

    for name in names:
        try:
            DenormalisationState.mark_stale(name, reason)
        except Exception:
            log.exception("could not flag %s as stale", name)


# --- Redis families: markers, the self-healing rebuild, set helpers ---------------------------


def keys_built_marker(name: str) -> str:
    from config import keys

    return keys.built_marker(name)


def redis_family_ready(name: str) -> bool:
    """True when the Redis family ``name`` is fully built and can be trusted.

    When its built marker is missing (Redis flushed, or restarted empty) this queues one rebuild
    (a Celery task, guarded by a ``SET NX EX`` lock so that many web processes asking at once
    queue it once) and returns False: callers then use their fallback until the rebuild has run.
    Returns False, never raises, when Redis is down.
    """
    import redis

    from config import keys
    from config.redis_client import get_redis

    try:
        if get_redis().exists(keys.built_marker(name)):
            return True
        log.warning("denormalisation %s is not built", name)
        queue_rebuild(name)
    except redis.RedisError as exc:
        log.warning("redis unavailable checking %s: %r", name, exc)
    return False


def queue_rebuild(name: str) -> bool:
    """Queue a rebuild of ``name`` unless one is already queued (the lock). True if queued (or,
    inside a transaction, to be queued once it commits). The task releases the lock when done; a
    crashed task's lock expires."""
    if transaction.get_connection().in_atomic_block:
        # Nothing touches Redis before the caller's transaction commits: a lock taken now would
        # outlive a rollback and block every rebuild of this entry for REBUILD_LOCK_SECONDS.
        transaction.on_commit(lambda: _lock_and_queue(name), robust=True)
        return True
    return _lock_and_queue(name)


def _lock_and_queue(name: str) -> bool:
    from config import keys
    from config.redis_client import get_redis

    if not get_redis().set(keys.rebuild_lock(name), str(int(time.time())), nx=True, ex=REBUILD_LOCK_SECONDS):
        return False
    _queue_rebuild(name)
    return True


def ensure_built() -> list[str]:
    """Queue rebuilds of unbuilt Redis families and of entries flagged stale (the beat task)."""
    import redis

    from config.models import DenormalisationState

    stale = set(DenormalisationState.objects.filter(stale_since__isnull=False).values_list("name", flat=True))
    try:
        wanted = [n for n in unbuilt_families() if n not in stale] + sorted(stale & set(_registry))
        return [name for name in wanted if queue_rebuild(name)]
    except redis.RedisError as exc:  # nothing to rebuild into; the next run tries again
        log.warning("redis unavailable, no rebuild queued: %r", exc)
        return []


def _queue_rebuild(name: str) -> None:
    from config import tasks

    try:
        tasks.rebuild_denormalisation.delay(name)
    except Exception as exc:  # broker down: drop the lock so the next caller queues again
        log.warning("could not queue the rebuild of %s: %r", name, exc)
        release_rebuild_lock(name)


def release_rebuild_lock(name: str) -> None:
    import redis

    from config import keys
    from config.redis_client import get_redis

    with contextlib.suppress(redis.RedisError):
        get_redis().delete(keys.rebuild_lock(name))


def unbuilt_families() -> list[str]:
    """Names of Redis families whose built marker is missing (Redis errors propagate)."""
    from config import keys
    from config.redis_client import get_redis

    names = [e.name for e in all_entries() if e.has_marker]
    if not names:
        return []
    pipe = get_redis().pipeline(transaction=False)
    for name in names:
        pipe.get(keys.built_marker(name))
    present = pipe.execute()
    return [n for n, value in zip(names, present, strict=True) if value is None]


# Swap a set built beside into place, atomically, keys in one slot (the temporary key carries the
# live key's hash tag). An empty build deletes the live key.
_SWAP_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PERSIST', KEYS[1])
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
return 1
"""


def replace_sets(sets: dict[str, Iterable[int]]) -> None:
    """Replace whole Redis sets: build each beside (a temporary key in the same hash slot), then
    swap it in with one atomic script per set. Readers never see a half-built set; an empty set
    deletes its key. No command touches two slots, so this works on Redis Cluster too."""
    from config.redis_client import get_redis

    client = get_redis()
    swap_script = client.register_script(_SWAP_SCRIPT)
    token = uuid.uuid4().hex[:12]
    build = client.pipeline(transaction=False)
    swaps = []
    for key, members in sets.items():
        members = list(members)
        tmp = f"{key}:tmp:{token}"
        for i in range(0, len(members), REDIS_CHUNK):
            build.sadd(tmp, *members[i : i + REDIS_CHUNK])
        if members:
            build.expire(tmp, 3600)  # a crash mid-build leaves no permanent litter
        swaps.append((tmp, key))
    build.execute()
    swap = client.pipeline(transaction=False)
    for tmp, key in swaps:
        swap_script(keys=[tmp, key], client=swap)
    swap.execute()


def sync_set(
    key: str,
    truth: set[int],
    *,
    actual: set[str] | None = None,
    fix: bool = False,
    label: str = "",
    pipe=None,
    sorted_set: bool = False,
) -> Drift:
    """Compare one Redis set with the Postgres truth; with ``fix``, add and remove the difference
    member by member (SADD/SREM, never a rebuild). ``actual`` may be read beforehand. With
    ``sorted_set`` the key is a sorted set whose scores are all 0 (ZADD/ZREM)."""
    from config.redis_client import get_redis

    if actual is None:
        actual = set(get_redis().zrange(key, 0, -1)) if sorted_set else get_redis().smembers(key)
    actual = set(actual)
    wanted = {str(m) for m in truth}
    missing = wanted - actual
    extra = actual - wanted
    drift = Drift(missing=len(missing), extra=len(extra))
    label = label or key
    for m in sorted(missing)[:2]:
        drift.add_example(f"{label}: {m} missing")
    for m in sorted(extra)[:2]:
        drift.add_example(f"{label}: {m} extra")
    if fix and (missing or extra):
        own = pipe is None
        pipe = pipe if pipe is not None else get_redis().pipeline(transaction=False)
        if missing:
            if sorted_set:
                pipe.zadd(key, dict.fromkeys(missing, 0))
            else:
                pipe.sadd(key, *missing)
        if extra:
            (pipe.zrem if sorted_set else pipe.srem)(key, *extra)
        if own:
            pipe.execute()
    return drift


def scan_keys(pattern: str) -> list[str]:
    """Keys matching a pattern, without temporary build keys (SCAN: never blocks Redis)."""
    from config.redis_client import get_redis

    return [k for k in get_redis().scan_iter(match=pattern, count=1000) if ":tmp:" not in k]


def sync_family(
    truth: dict[int, set[int]],
    key_of: Callable[[int], str],
    pattern: str,
    id_of_key: Callable[[str], int],
    *,
    fix: bool,
) -> Drift:
    """Compare (and with ``fix`` repair, member by member) a whole family of Redis sets: one set
    per owner in ``truth``, plus any key matching ``pattern`` whose owner has no members."""
    from config.redis_client import get_redis

    client = get_redis()
    drift = Drift()
    owners = set(truth)
    stray = [k for k in scan_keys(pattern) if id_of_key(k) not in owners]
    owner_list = sorted(owners)
    pipe = client.pipeline(transaction=False)
    for i in range(0, len(owner_list), 500):
        batch = owner_list[i : i + 500]
        read = client.pipeline(transaction=False)
        for owner in batch:
            read.smembers(key_of(owner))
        for owner, actual in zip(batch, read.execute(), strict=True):
            drift.merge(sync_set(key_of(owner), truth[owner], actual=actual, fix=fix, pipe=pipe))
    for key in stray:
        actual = client.smembers(key)
        drift.merge(sync_set(key, set(), actual=actual, fix=fix, pipe=pipe))
    if fix:
        pipe.execute()
    return drift


def rebuild_family(
    truth_of: Callable[[], dict[int, set[int]]],
    key_of: Callable[[int], str],
    pattern: str,
    id_of_key: Callable[[str], int],
) -> None:
    """Rebuild a family safely while the site serves: build every set beside and swap it, delete
    the sets of owners that no longer have members, then repair member by member whatever
    on-commit updates landed between reading Postgres and the swap (read Redis, then Postgres)."""
    truth = truth_of()
    owners = sorted(truth)
    for i in range(0, len(owners), 200):
        replace_sets({key_of(o): truth[o] for o in owners[i : i + 200]})
    stray = [k for k in scan_keys(pattern) if id_of_key(k) not in truth]
    if stray:
        from config.redis_client import get_redis

        pipe = get_redis().pipeline(transaction=False)
        for key in stray:  # one DEL per key: they sit in different slots
            pipe.delete(key)
        pipe.execute()
    sync_family(truth_of(), key_of, pattern, id_of_key, fix=True)


def hash_tag_id(key: str) -> int:
    """The numeric id inside a key's hash tag: ``crowd:v1:{a:17}:todo`` -> 17."""
    inner = key[key.index("{") + 1 : key.index("}")]
    return int(inner.split(":", 1)[1])


# --- changed(): the project-level way to say "I changed the truth" ----------------------------

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
    return _local.pending


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
    """Run every entry's ``refresh`` once, in registry order; a failure flags its entries stale
    (the periodic task rebuilds them) instead of failing the request that committed."""
    done: list[Callable] = []
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


def context_cache() -> dict:
    """A cache for capture helpers that lives as long as the current transaction (one query per
    document while a cascade deletes its thousand pages); no caching outside transactions."""
    if not connection.in_atomic_block:
        return {}
    # run_on_commit is a new list after every commit or rollback: it identifies the transaction.
    owner = connection.run_on_commit
    if getattr(_local, "cache_owner", None) is not owner:
        _local.cache_owner = owner
        _local.context_cache = {}
    return _local.context_cache


# --- The generated document -------------------------------------------------------------------

DOCS_INTRO = """\
# Denormalisations

<!-- Generated from the registry (config/denormalisation.py and each app's denormalisations.py)
by `manage.py denormalisation_docs`. Do not edit by hand: a test fails when this file differs
from what the command writes. -->

Postgres is the only source of truth. Every other copy of its data (Redis sets, memcached pools,
counter columns, aggregate tables) is declared in the registry below, with what it derives from,
where it lives, what keeps it current, and a rebuild and a check.

## Operating them

- `manage.py rebuild_denormalisations [NAME…]` rebuilds all or the named entries from Postgres,
  safely while the site serves: Redis sets are built beside the live ones (a temporary key in the
  same hash slot) and swapped in atomically with `RENAME` (a script or `MULTI` touching one slot
  only, so it also works on Redis Cluster), then repaired member by member for updates that
  landed during the build; counters are recounted in short chunks that lock their rows first.
  `--list` prints the names.
- `manage.py check_denormalisations [NAME…]` prints, per entry, `ok` or the drift (missing,
  extra and wrong counts with examples) and exits non-zero when any entry drifted.
- `/staff/denormalisations/` shows each entry, where it lives, its last rebuild, last check and
  the drift found.
- Every Redis family has a built marker (`crowd:v1:built:<name>`), written when a rebuild
  finished. `config.denormalisation.redis_family_ready(name)` returns True only when it exists;
  when it is missing (Redis flushed or restarted empty) it queues the `rebuild_denormalisation`
  Celery task once, under a `SET NX EX` lock, and returns False so that readers use their
  fallback meanwhile (it also returns False, never raises, when Redis is down). The beat task
  `ensure_denormalisations` does the same for every family every minute, and rebuilds entries
  flagged stale after an on-commit update failed.
- `assignments.denormalisations.rebuild_assignment_sets(assignment_id)` rebuilds one
  assignment's needed, done and to-do sets (build beside, then swap).

## Keeping them current: the rules

1. Copies change only after Postgres committed. Counter columns change inside the writing
   transaction (`reviews.actions.submit_review`) or are recounted for the affected rows right
   after commit; Redis and memcached are written only in `transaction.on_commit`.
2. Saves, deletes and many-to-many edits are caught by signal receivers in the apps'
   `denormalisations.py`. This covers `QuerySet.delete()` and cascades: Django sends `pre_delete`
   and `post_delete` for every collected object whenever a receiver exists for its model
   (pages, reviews, skips, assignments, parties and users have receivers). A party's members
   are detached by a bulk `SET_NULL` update, so the party's `pre_delete` captures its pages.
3. Django sends no signal for `QuerySet.update()`, `bulk_create()` or raw SQL. Code that changes
   the truth that way must, in the same transaction, call
   `config.denormalisation.changed(pages=…, seen=…, users=…, documents=…, members=…,
   parties=…, assignments=…)` naming what it touched (pages about to move or disappear with a
   `PageContext` of where they were). After commit every entry's `refresh` re-derives exactly
   those parts from Postgres. Over-declaring is harmless; forgetting leaves drift that only
   `check_denormalisations` shows. The importer follows this rule by sending
   `reviews.signals.document_imported` after its `bulk_create` commits. Reviews are created only by
   `reviews.actions.submit_review`, which maintains every counter itself; code creating reviews
   any other way, or edits the tags of an existing review, must call `changed(pages=…, seen=…)`
   (no receiver listens to `Review.tags`: it would cost every submit a query). Moving an existing
   review to another page or reviewer is caught by receivers.
4. Hot paths stay cheap: a review or a skip costs one or two Redis commands after commit (SADD to
   the reviewer's seen set; SADD done and SREM to-do for assignments whose threshold the page just
   reached); no request ever computes a set difference.
5. Inactive assignments have no Redis sets. Tags: `PageTag` counts reviews whatever the tag's
   active flag, so deactivating a tag changes no copy; listings hide inactive tags.
6. Nothing is denormalised outside this registry: a new copy gets an entry (with rebuild, check
   and what keeps it current) and then appears here after `manage.py denormalisation_docs`.
"""


def docs_path():
    from django.conf import settings

    return settings.BASE_DIR / "docs" / "denormalisations.md"


def render_docs() -> str:
    """docs/denormalisations.md, generated from the registry."""
    lines = [DOCS_INTRO, "## Summary", "", "| name | store | lives in |", "|---|---|---|"]
    for e in all_entries():
        lines.append(f"| [`{e.name}`](#{e.name}) | {e.store} | {e.lives_in} |")
    lines.append("")
    for e in all_entries():
        lines += [
            f"## {e.name}",
            "",
            e.description,
            "",
            f"- **Store:** {e.store}"
            + (f" (built marker `{keys_built_marker(e.name)}`)" if e.has_marker else ""),
            f"- **Derived from:** {e.derived_from}",
            f"- **Lives in:** {e.lives_in}",
            f"- **Kept current by:** {e.kept_current_by}",
            f"- **Rebuild:** `{_qualname(e.rebuild)}`",
            f"- **Check:** `{_qualname(e.check)}`",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _qualname(fn: Callable) -> str:
    name = getattr(fn, "__qualname__", repr(fn)).replace(".<locals>", "")
    return f"{getattr(fn, '__module__', '?')}.{name}"
