"""Redis, per active assignment: the ``needed``, ``done``, ``todo``, ``todo-rank`` and ``priority``
sets the picker draws from (see the package docstring), their truth, rebuild, check and repair."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict

from django.db import connection
from psycopg import sql

from assignments import scope
from assignments.denormalisations.active import _active_truth
from assignments.denormalisations.contexts import page_states
from assignments.models import Assignment, PriorityPage
from assignments.picker.holds import settle_pages
from assignments.picker.scripts import rank_score
from catalogue.models import Page
from denorm.changes import Changes
from denorm.redis_sets import (
    diff_temporary,
    hash_tag_id,
    read_scores,
    read_sets,
    scan_keys,
    sync_set,
    write_temporary,
)
from denorm.registry import Denormalisation, Drift, Store, register
from lib import keys
from lib.redis_client import get_redis
from lib.redis_scripts import execute
from lib.sql_names import compose

log = logging.getLogger("crowd.denormalisation")


_A = f"{keys.NAMESPACE}:{keys.VERSION}:{{a:*}}"


PATTERNS = {
    "needed": f"{_A}:needed",
    "done": f"{_A}:done",
    "todo": f"{_A}:todo",
    "rank": f"{_A}:todo-rank",
    "priority": f"{_A}:priority",
}


KEY_OF = {
    "needed": keys.assignment_needed,
    "done": keys.assignment_done,
    "todo": keys.assignment_todo,
    "rank": keys.assignment_todo_rank,
    "priority": keys.assignment_priority,
}


SET_NAMES = {
    "needed": "assignment-needed",
    "done": "assignment-done",
    "todo": "assignment-todo",
    "rank": "assignment-todo-rank",
    "priority": "assignment-priority",
}


KINDS = ("needed", "done", "todo", "rank", "priority")


# The picker's reservations: not copies of Postgres, but they go with the assignment's sets.
RESERVATION_KEYS = (
    keys.assignment_holds,
    keys.assignment_hold_counts,
    keys.assignment_holders,
    keys.assignment_hold_addresses,
    keys.assignment_address_holds,
    keys.assignment_soft_holds,
)


def _empty_truth() -> dict:
    return {"needed": set(), "done": set(), "todo": set(), "priority": set(), "remaining": {}}


def assignment_truth(assignment_id: int) -> dict | None:
    """The sets of one assignment from Postgres, and the reviews each to-do page still needs
    (``remaining``); None when it is inactive or gone."""
    row = Assignment.objects.filter(pk=assignment_id).values_list("active", "threshold").first()
    if row is None or not row[0]:
        return None
    threshold = row[1]
    truth = _empty_truth()
    retired = scope.retired_page_ids(assignment_id)  # done early (issue 25): scope's done rule
    for page_id, count in Page.objects.filter(scope.page_filter(assignment_id)).values_list(
        "id", "review_count"
    ):
        truth["needed"].add(page_id)
        if count >= threshold or page_id in retired:
            truth["done"].add(page_id)
        else:
            truth["todo"].add(page_id)
            truth["remaining"][page_id] = threshold - count
    # A withdrawn page leaves the assignment (assignments.scope), its priority mark with it.
    truth["priority"] = set(
        PriorityPage.objects.filter(assignment_id=assignment_id, page__withdrawn_at__isnull=True).values_list(
            "page_id", flat=True
        )
    )
    return truth


def all_assignment_truth() -> dict[int, dict]:
    """The sets of every active assignment in one query (checks)."""
    truth = {pk: _empty_truth() for pk in Assignment.objects.filter(active=True).values_list("pk", flat=True)}
    with connection.cursor() as cursor:
        cursor.execute(
            compose(
                "SELECT a.id, p.id, a.threshold - p.review_count, {retired}"
                " FROM ({assignment_pages}) x"
                " JOIN {assignment} a ON a.id = x.assignment_id AND a.active"
                " JOIN {page} p ON p.id = x.page_id",
                retired=sql.SQL(scope.retired_sql("a.id", "p.id")),
                assignment_pages=sql.SQL(scope.assignment_pages_sql()),
                assignment=Assignment,
                page=Page,
            )
        )
        for assignment_id, page_id, remaining, retired in cursor.fetchall():
            sets = truth[assignment_id]
            sets["needed"].add(page_id)
            if remaining <= 0 or retired:
                sets["done"].add(page_id)
            else:
                sets["todo"].add(page_id)
                sets["remaining"][page_id] = remaining
    for assignment_id, page_id in PriorityPage.objects.filter(
        assignment_id__in=list(truth), page__withdrawn_at__isnull=True
    ).values_list("assignment_id", "page_id"):
        truth[assignment_id]["priority"].add(page_id)
    return truth


def _hold_counts(client, assignment_id: int) -> dict[int, int]:
    return {int(k): int(v) for k, v in client.hgetall(keys.assignment_hold_counts(assignment_id)).items()}


def rank_scores(truth: dict, holds: dict[int, int]) -> dict[int, int]:
    """The to-do mirror's score of each to-do page (see ``assignments/picker/tiers.lua``)."""
    return {
        page_id: rank_score(free=remaining - holds.get(page_id, 0), priority=page_id in truth["priority"])
        for page_id, remaining in truth["remaining"].items()
    }


def rebuild_assignment_sets(assignment_id: int) -> None:
    """Rebuild the sets of one assignment from Postgres, safely while the picker reads them: the
    new sets are built beside the old ones (same hash slot), the to-do set with SDIFFSTORE, and
    swapped in one MULTI; then whatever on-commit updates landed during the build are repaired
    member by member. An inactive or deleted assignment loses its sets (and its reservations)."""
    client = get_redis()
    names = [KEY_OF[k](assignment_id) for k in KINDS]
    truth = assignment_truth(assignment_id)
    if truth is None:
        client.delete(*names, *(key(assignment_id) for key in RESERVATION_KEYS))
        return
    scores = rank_scores(truth, _hold_counts(client, assignment_id))
    token = uuid.uuid4().hex[:12]
    tmp = {k: f"{KEY_OF[k](assignment_id)}:tmp:{token}" for k in KINDS}
    build = client.pipeline(transaction=False)
    # A crash mid-build leaves no permanent litter: each temporary key is created with its expiry.
    for kind in ("needed", "done", "priority"):
        write_temporary(build, "SADD", tmp[kind], sorted(truth[kind]))
    # The to-do set made from the needed and done sets (all share the assignment's hash tag).
    diff_temporary(build, tmp["todo"], tmp["needed"], tmp["done"])
    write_temporary(
        build,
        "ZADD",
        tmp["rank"],
        [v for member, n in sorted(scores.items()) for v in (n, member)],
        per_item=2,
    )
    execute(build, client)
    swap = client.pipeline(transaction=True)
    for kind in KINDS:
        if truth["todo" if kind == "rank" else kind]:
            swap.rename(tmp[kind], KEY_OF[kind](assignment_id))
            swap.persist(KEY_OF[kind](assignment_id))
        else:
            swap.delete(KEY_OF[kind](assignment_id), tmp[kind])
    swap.execute()
    sync_assignment_sets(assignment_id, fix=True)


def sync_assignment_sets(assignment_id: int, *, fix: bool, kinds=KINDS) -> Drift:
    """Compare (with ``fix``, repair member by member) one assignment's sets with Postgres.

    Redis is read before Postgres: an on-commit update racing with this can then only make a
    member look missing or extra when it truly is, so a repair never undoes a newer update."""
    client = get_redis()
    actual = _read_kinds(assignment_id, kinds)
    holds = _hold_counts(client, assignment_id)
    truth = assignment_truth(assignment_id) or _empty_truth()
    drift = Drift()
    pipe = client.pipeline(transaction=False)
    for kind in kinds:
        drift.merge(
            _sync(
                kind,
                assignment_id,
                truth,
                holds,
                actual=actual[kind],
                fix=fix,
                label=f"assignment {assignment_id} {kind}",
                pipe=pipe,
            )
        )
    if fix:
        pipe.execute()
    return drift


def _read_kinds(assignment_id: int, kinds) -> dict:
    """The members of one assignment's sets (the mirror: member -> score), in SSCAN/ZSCAN
    batches when large (``denorm.redis_sets``)."""
    plain = [k for k in kinds if k != "rank"]
    actual = dict(zip(plain, read_sets([KEY_OF[k](assignment_id) for k in plain]), strict=True))
    if "rank" in kinds:
        [actual["rank"]] = read_scores([KEY_OF["rank"](assignment_id)])
    return actual


def _sync(
    kind: str,
    assignment_id: int,
    truth: dict,
    holds: dict[int, int],
    *,
    actual,
    fix: bool,
    label: str,
    pipe=None,
) -> Drift:
    key = KEY_OF[kind](assignment_id)
    if kind != "rank":
        return sync_set(key, truth[kind], actual=actual, fix=fix, label=label, pipe=pipe)
    # The mirror: members as the to-do set, each with the score its free places and priority give.
    want = rank_scores(truth, holds)
    have = {int(m): float(sc) for m, sc in actual.items()}
    missing = {p: sc for p, sc in want.items() if p not in have}
    extra = [p for p in have if p not in want]
    wrong = {p: sc for p, sc in want.items() if p in have and have[p] != sc}
    drift = Drift(missing=len(missing), extra=len(extra), wrong=len(wrong))
    for p in sorted(missing)[:2]:
        drift.add_example(f"{label}: {p} missing")
    for p in sorted(extra)[:2]:
        drift.add_example(f"{label}: {p} extra")
    for p in sorted(wrong)[:2]:
        drift.add_example(f"{label}: {p} scored {have[p]:g}, should be {wrong[p]}")
    if fix and (missing or extra or wrong):
        own = pipe is None
        pipe = pipe if pipe is not None else get_redis().pipeline(transaction=False)
        if missing:
            pipe.zadd(key, dict.fromkeys(missing, 0), nx=True)
        if missing or wrong:
            # Scored by the settle script, from the live reservations counted at that moment (a
            # reservation made since the read is not lost).
            settle_pages(pipe, assignment_id, {p: truth["remaining"][p] for p in {**missing, **wrong}})
        if extra:
            pipe.zrem(key, *extra)
        if own:
            execute(pipe, get_redis())
    return drift


def _assignment_ids_with_keys(kind: str) -> set[int]:
    return {hash_tag_id(k) for k in scan_keys(PATTERNS[kind])}


def rebuild_all_assignment_sets() -> None:
    active = set(Assignment.objects.filter(active=True).values_list("pk", flat=True))
    stray = set().union(*(_assignment_ids_with_keys(k) for k in KEY_OF)) - active
    for assignment_id in sorted(active | stray):
        rebuild_assignment_sets(assignment_id)


def _set_check(kind: str):
    def check() -> Drift:
        truth = all_assignment_truth()
        ids = sorted(set(truth) | _assignment_ids_with_keys(kind))
        keys_ = [KEY_OF[kind](a) for a in ids]
        found = read_scores(keys_) if kind == "rank" else read_sets(keys_)
        if kind == "rank":
            read = get_redis().pipeline(transaction=False)
            for assignment_id in ids:
                read.hgetall(keys.assignment_hold_counts(assignment_id))
            all_holds = [{int(k): int(v) for k, v in h.items()} for h in read.execute()]
        else:
            all_holds = [{}] * len(ids)
        drift = Drift()
        for assignment_id, actual, holds in zip(ids, found, all_holds, strict=True):
            want = truth.get(assignment_id, _empty_truth())
            label = f"assignment {assignment_id} {kind}"
            drift.merge(_sync(kind, assignment_id, want, holds, actual=actual, fix=False, label=label))
        return drift

    return check


def _set_repair(kind: str):
    def repair() -> Drift:
        # One assignment at a time, Redis read before Postgres (see sync_assignment_sets).
        ids = _active_truth() | _assignment_ids_with_keys(kind)
        drift = Drift()
        for assignment_id in sorted(ids):
            drift.merge(sync_assignment_sets(assignment_id, fix=True, kinds=(kind,)))
        return drift

    return repair


def refresh_assignment_sets(changes: Changes) -> None:
    """After commit: rebuild the sets of assignments named in ``changes``; re-derive the changed
    pages' membership in the sets of every active assignment that holds or held them."""
    for assignment_id in sorted(changes.assignments):
        rebuild_assignment_sets(assignment_id)
    if not changes.pages:
        return
    now = page_states(changes.pages)
    candidates: set[int] = set()
    for page_id, before in changes.pages.items():
        candidates |= before.assignments
        if page_id in now:
            candidates |= now[page_id][0].assignments
    candidates -= changes.assignments
    thresholds = dict(
        Assignment.objects.filter(pk__in=candidates, active=True).values_list("pk", "threshold")
    )
    priority = set(
        PriorityPage.objects.filter(
            assignment_id__in=list(thresholds), page_id__in=list(changes.pages)
        ).values_list("assignment_id", "page_id")
    )
    retired = scope.retired_pairs(thresholds, changes.pages)  # done early (issue 25)
    ops: dict[tuple[str, str], set[int]] = defaultdict(set)  # (command, key) -> page ids
    settle: dict[int, dict[int, int]] = defaultdict(dict)  # assignment -> page -> remaining
    for page_id, before in changes.pages.items():
        context, count = now.get(page_id, (None, 0))
        inside = context.assignments if context is not None else set()
        for assignment_id in (before.assignments | inside) & thresholds.keys():
            needed = assignment_id in inside
            done = needed and (count >= thresholds[assignment_id] or (assignment_id, page_id) in retired)
            for kind, member in (("needed", needed), ("done", done), ("todo", needed and not done)):
                ops[("sadd" if member else "srem", KEY_OF[kind](assignment_id))].add(page_id)
            marked = needed and (assignment_id, page_id) in priority
            ops[("sadd" if marked else "srem", KEY_OF["priority"](assignment_id))].add(page_id)
            if needed and not done:
                settle[assignment_id][page_id] = thresholds[assignment_id] - count
            else:
                ops[("zrem", KEY_OF["rank"](assignment_id))].add(page_id)
    pipe = get_redis().pipeline(transaction=False)
    for (command, key), members in ops.items():
        getattr(pipe, command)(key, *members)
    for assignment_id, remaining in settle.items():
        # A page new to the mirror enters as if it had no reservation; then its score is set
        # from its remaining reviews, its live reservations and its priority (one script each).
        pipe.zadd(KEY_OF["rank"](assignment_id), dict.fromkeys(remaining, 0), nx=True)
        settle_pages(pipe, assignment_id, remaining)
    execute(pipe, get_redis())


_SETS_KEPT = (
    "after commit: `catalogue.signals.review_recorded` (a page reaching the threshold: SADD done, "
    "SREM todo; every review: one fewer free place in the to-do mirror), `page_skipped` and the "
    "picker's reservations (the mirror's free places), `post_save`/`post_delete` of a "
    "`PriorityPage` (priority), `document_imported`, page deletes and cascades (via `reviews/denormalisations/`), "
    "`m2m_changed` of the assignment's members, parties and documents and `post_save` changing "
    "its threshold or active flag (the assignment's sets are rebuilt), `post_delete`; anything "
    "else through `denorm.changed`."
)


_SET_DESCRIPTIONS = {
    "needed": "The ids of the pages each active assignment covers (its members', parties' and "
    "documents' pages, except withdrawn ones: `assignments.scope`).",
    "done": "The ids of the pages of each active assignment that at least `threshold` different "
    "reviewers reviewed.",
    "todo": "Needed minus done for each active assignment: what the next-page picker may serve. "
    "Built with SDIFFSTORE at rebuild time, then kept current member by member (SADD/SREM), so no "
    "request pays for a set difference. Small ones (up to 48 ids) are drawn from whole.",
    "rank": "The to-do set again, as a sorted set whose score encodes each page's free places "
    "(threshold - review_count - the picker's live reservations of it, counted in the hash "
    "`{a:<id>}:hold-counts`) and priority: -free, or -2^40 - free for a priority page, while it "
    "has a free place; -free (0 or more) when it has none. So the pages the picker may hand out "
    "are the scores below 0, priority first, the most free places (fewest reviews) first: the "
    "tiers of 'fewest reviews first', each a run of equal scores. Kept in step with the to-do "
    "set (ZADD/ZREM beside each SADD/SREM); re-scored by the picker's Lua scripts as "
    "reservations start and end and by every review. The picker draws from a tier by random rank "
    "(ZRANGE key r r, O(log n)), which is exactly uniform: SRANDMEMBER on a set of more than 512 "
    "ids (hashtable encoding) favours some members over others.",
    "priority": "The ids of each active assignment's priority pages (`assignments_prioritypage`), "
    "which the picker serves before the others (the to-do mirror's scores read it).",
}


_LIVES_IN = {"rank": "Redis sorted set"}


for _order, _kind in enumerate(KINDS):
    register(
        Denormalisation(
            name=SET_NAMES[_kind],
            description=_SET_DESCRIPTIONS[_kind],
            derived_from="`assignments_assignment` (active, threshold) with its members, parties "
            "and documents; `reviews_page` (document, review_count, withdrawn_at); "
            "`assignments_prioritypage`",
            lives_in=f"{_LIVES_IN.get(_kind, 'Redis set')} `{PATTERNS[_kind].replace('*', '<id>')}`",
            kept_current_by=_SETS_KEPT,
            # All are rebuilt together (to-do is made from needed and done, rank from to-do).
            rebuild=rebuild_all_assignment_sets,
            check=_set_check(_kind),
            repair=_set_repair(_kind),
            refresh=refresh_assignment_sets,
            order=50 + _order,
            store=Store.REDIS,
        )
    )
