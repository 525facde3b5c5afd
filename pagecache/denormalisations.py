"""The page cache's generations as a denormalisation (see ``pagecache.generations``).

A generation is not a copy of a value in Postgres but a counter of changes to it, so rebuild and
check mean something slightly different here:

- **rebuild** bumps every global generation, ``epoch`` included, which is in every cached page's
  key: every cached page (and, through the nginx index, every nginx copy of one) is abandoned, and
  the next request of each renders afresh from Postgres.
- **check** reads the global generations: each one present must never have gone back below the
  highest value this process saw (``generations.high_water``). A missing one is not drift: the
  next read recreates it from the clock, above any value it had (memcached flushed, restarted or
  evicting is normal life for a cache). The repair sets a backwards one above both.
- The per-tag and per-page generations are created on demand and are not enumerated (there are
  millions of pages); ``epoch`` covers them.
"""

from __future__ import annotations

from django.core.cache import cache

from denorm.changes import Changes
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys
from pagecache import generations as g
from pagecache import media


def _rebuild() -> None:
    g.bump(g.GLOBAL)


def _check() -> Drift:
    drift = Drift()
    names = {keys.page_generation(n): n for n in g.GLOBAL}
    found = cache.get_many(list(names))
    for key, name in names.items():
        value = found.get(key)
        if not isinstance(value, int):
            # Missing (never created, evicted, memcached restarted) is no drift: the next read
            # recreates it from the clock, above any value it had, so no old page comes back.
            continue
        if value < g.high_water.get(name, 0):
            drift.wrong += 1
            drift.add_example(f"generation {name} went back: {value} < {g.high_water[name]}")
    return drift


def _repair() -> Drift:
    """Set every lost or backwards global generation past anything it was (then bump ``epoch``:
    pages cached under the values in between are abandoned too)."""
    drift = _check()
    if not drift.ok:
        g.restore_global()
    return drift


def _refresh(changes: Changes) -> None:
    """Bulk writes declared with ``denorm.changes.changed`` (signals cover ordinary saves)."""
    names: set[str] = set()
    if changes.pages:
        # A page changed where no save tells how (bulk updates, retags, a takedown): whether and
        # where it is public may have changed, which shows at once (``catalogue`` is hard).
        names |= {g.CATALOGUE, g.COUNTS, *(g.page(pk) for pk in changes.pages)}
    if changes.documents or changes.members or changes.parties:
        names.add(g.CATALOGUE)
    if changes.assignments:
        names.add(g.ASSIGNMENTS)
    g.bump(names)
    # nginx's kept "public" answers for these pages' images (pagecache.media): withdrawals,
    # reinstatements and embargo decisions all arrive here.
    media.forget_pages(changes.pages)
    media.forget_documents(changes.documents)


register(
    Denormalisation(
        name="page-cache-generations",
        description="Generation counters of the full-page cache: every cached anonymous page's key "
        "carries the generations of what it shows, and a write bumps the ones it changes (global: "
        "`epoch`, `catalogue`, `assignments`, `discoveries`, `counts`; per tag `tag:<slug>`; per "
        "page `page:<id>`). Rebuild bumps every global generation (`epoch` is in every key, so the "
        "whole cache is abandoned); check says no global generation went "
        "back (missing is fine: recreated from the clock in microseconds, above any value it had). Counts "
        "(`counts`, `tag:*`, `page:*`) may be `PAGE_CACHE_SOFT_SECONDS` (5 s) stale per process; "
        "assignments, discoveries, tags, deleted and withdrawn pages show at once.",
        derived_from="writes to assignments, discoveries, tags, documents, members, parties, pages "
        "and reviews (counters of changes, not copies of values)",
        lives_in="memcached `crowd:v1:pagegen:<name>` (integers, no expiry); pages (and parts of "
        "pages: an assignment's charts, `pagecache.fragments`) under "
        "`crowd:v1:page:<digest>`, nginx copies under `crowd:v1:nginx:<scheme>://<host><uri>`",
        kept_current_by="`pagecache.receivers` (after commit: `review_recorded`, saves and deletes of "
        "assignments, their scope, discoveries, tags, documents, members, parties, pages, reviews; "
        "`document_imported`) and this entry's refresh for `changed()`",
        rebuild=_rebuild,
        check=_check,
        repair=_repair,
        refresh=_refresh,
        order=95,
        store=Store.MEMCACHED,
    )
)
