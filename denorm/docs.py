"""docs/denormalisations.md, generated from the registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from denorm.operations import keys_built_marker
from denorm.registry import all_entries

DOCS_INTRO = """\
# Denormalisations

<!-- Generated from the registry (the `denorm` app and each app's denormalisations.py)
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
  finished. `denorm.redis_family_ready(name)` returns True only when it exists;
  when it is missing (Redis flushed or restarted empty) it queues the `rebuild_denormalisation`
  Celery task once, under a `SET NX EX` lock, and returns False so that readers use their
  fallback meanwhile (it also returns False, never raises, when Redis is down). The beat task
  `ensure_denormalisations` does the same for every family every minute, and rebuilds entries
  flagged stale after an on-commit update failed.
- The beat task `denorm.tasks.check_and_repair_denormalisations` runs every
  `DENORMALISATION_CHECK_SECONDS` (default 60 s) and repairs what code forgot or a hand-made SQL
  fix broke, without anyone running a command. Each run checks the entries checked longest ago
  whose last measured check times fit in `DENORMALISATION_CHECK_BUDGET_SECONDS` (default 20 s;
  at least one entry per run; the cursor is each entry's last check time, so the next run
  carries on where this one stopped). An entry with a **repair** compares and repairs in one
  pass, touching only what differs: SADD/SREM member by member in Redis (Redis read before
  Postgres, so a racing on-commit update is never undone), a recount of exactly the drifted rows
  in Postgres (rows locked first, as in a rebuild). An entry without one is rebuilt when it
  drifted. Either holds the entry's rebuild lock: while a rebuild of it is queued or running, the
  entry is only checked. Drift is logged at WARNING on `crowd.denormalisation` (INFO for the
  memcached pool, which lags by design), and `/staff/denormalisations/` shows the last check, the
  drift found and the last repair. Redis down: one warning line, nothing else.
- Cost, measured (`CROWD_TESTING=1 MEASURE_PAGES=200000 .venv/bin/python -m pytest
  tests/denorm/_measure_check_cost.py -q -s -p no:randomly`, 2 shared cores, embedded
  Postgres and Redis): with nothing drifted, one pass over the whole registry at 200,000 pages
  (half reviewed, two assignments) took 5.4 s, the largest entries being the to-do sorted set
  (0.9 s), the to-do set (0.8 s) and the needed set (0.6 s). It reads each copy whole once and
  runs each entry's check query once. At the demo's few thousand pages a run takes well under a
  second and covers everything, so a copy broken by hand agrees again within one interval
  (60 s). Estimated at 4,000,000 pages (linear from the measurement, ×20): about 110 s of
  checking per cycle, i.e. a full cycle in about 6 runs of 20 s, **about 6 minutes**, no run
  longer than the budget plus its largest entry (about 18 s). Sets of more than 20,000 members
  are read in `SSCAN`/`ZSCAN` batches of 10,000 (`denorm.redis_sets.read_sets`), so no single
  command on a multi-million-member set outlasts the client's 0.5 s timeout or blocks Redis;
  that path is tested at 25,000 members, not yet timed at 4,000,000.
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
   `denorm.changes.changed(pages=…, seen=…, users=…, documents=…, members=…,
   parties=…, assignments=…)` naming what it touched (pages about to move or disappear with a
   `PageContext` of where they were). After commit every entry's `refresh` re-derives exactly
   those parts from Postgres. Over-declaring is harmless; forgetting leaves drift until the
   periodic check-and-repair finds it. The import follows this rule:
   `catalogue.actions.documents.commit_document_pages` sends `catalogue.signals.document_imported`
   after its `bulk_create` commits. Only action and denormalisation modules may write this way
   (`tests/test_architecture.py`). Reviews are created only by
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


def docs_path() -> Path:
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
            *(
                [f"- **Lags by design:** up to {e.lag_seconds} s, repaired by {e.repaired_by}"]
                if e.lag_seconds is not None
                else []
            ),
            f"- **Rebuild:** `{_qualname(e.rebuild)}`",
            f"- **Check:** `{_qualname(e.check)}`",
            "- **Periodic repair:** "
            + (
                f"`{_qualname(e.repair)}` (only what differs)" if e.repair else "its rebuild, when it drifted"
            ),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _qualname(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", repr(fn)).replace(".<locals>", "")
    return f"{getattr(fn, '__module__', '?')}.{name}"
